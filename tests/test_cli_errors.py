"""The `tfzoo` command facing a new user's mistakes: one line, exit code 2, nothing destroyed.

Every case runs `tfzoo.cli.main([...])` in-process and must fail in its input checks, before any
training or export starts, so each takes about a second. The assertions are the contract of the
command: exit code 2, exactly one line on stderr that names the problem and the fix, no
traceback, and every file that was there before is still there, byte for byte, with nothing new.
"""

import os
import subprocess
import sys
import tempfile
import zipfile

import pytest

from tfzoo import _startup, cli
from tfzoo.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ("models", "build", "train", "compress", "export", "verify", "viz", "demo", "chat")


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A real (tiny) classifier saved as .keras, shared by the cases that need a model."""
    import tfzoo

    path = tmp_path_factory.mktemp("model") / "clf.keras"
    tfzoo.build("bert-tiny", task="classification", num_classes=2, num_layers=1).save(path)
    return str(path)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory holding a user's files: good and bad CSVs, a non-model folder, ..."""
    monkeypatch.chdir(tmp_path)
    files = {
        "missing_columns.csv": b"review,stars\ngood film,1\n",
        "empty_text.csv": b"text,label\ngood film,1\n   ,0\n",
        "not_utf8.csv": b"text,label\ngood film,1\ncaf\xe9 au lait,0\n",
        "text_labels.csv": b"text,label\ngood film,positive\n",
        "too_small.csv": b"text,label\ngood film,1\nbad film,0\n",
        "notes.txt": b"a regular file, not a folder",
        "existing.keras": b"an earlier result that must survive",
        "existing.tflite": b"an earlier result that must survive",
        "existing.png": b"an earlier result that must survive",
        "not_a_model/readme.txt": b"a folder that is not a checkpoint",
        "broken.keras": b"not a zip archive",
        "earlier_run/model.keras": b"an earlier training run",
        "someone_elses/thesis.tex": b"must survive",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with zipfile.ZipFile(tmp_path / "zip_not_model.keras", "w") as archive:
        archive.writestr("hello.txt", "a zip archive that is not a Keras model")
    return tmp_path


def _snapshot(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def _fails_in_one_line(capsys, work, argv, *expected):
    """Runs `tfzoo ARGV`; checks exit code 2, one stderr line holding `expected`, no changes."""
    before = _snapshot(work)
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, (argv, err)
    assert len(lines) == 1, (argv, err)
    assert lines[0].startswith(f"tfzoo {argv[0]}: error: "), lines[0]
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert _snapshot(work) == before, "a failed command changed or created files"
    return lines[0]


def _unwritable_folder():
    """A folder where even root cannot create a file (a read-only or virtual file system)."""
    for folder in ("/sys", "/proc"):
        try:
            handle, probe = tempfile.mkstemp(dir=folder)
        except OSError:
            return folder
        os.close(handle)
        os.remove(probe)
    pytest.skip("no read-only folder on this machine")


# --- data files: demo, train, export --calibration-data -----------------------------------------

BAD_CSV = [
    (
        "missing_columns.csv",
        ["has no column 'text'", "columns present: ['review', 'stars']", "Fix"],
    ),
    ("empty_text.csv", ["row 2 (line 3): empty text in column 'text'", "Fix"]),
    (
        "not_utf8.csv",
        ["is not valid UTF-8", "byte 0xe9", "line 3", "Fix: re-save the file as UTF-8"],
    ),
    ("text_labels.csv", ["label 'positive'", "is not an integer", "Fix"]),
    ("no_such_file.csv", ["CSV file not found", "no_such_file.csv"]),
]


@pytest.mark.parametrize("name, expected", BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_demo_bad_csv(capsys, work, name, expected):
    _fails_in_one_line(capsys, work, ["demo", "--data", name, "--output", "out"], *expected)


def test_demo_csv_too_small_for_the_splits(capsys, work):
    _fails_in_one_line(
        capsys,
        work,
        ["demo", "--data", "too_small.csv", "--output", "out"],
        "too few for the demo",
        "Fix",
    )


@pytest.mark.parametrize("name, expected", BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_train_bad_csv(capsys, work, name, expected):
    argv = ["train", "classify", "--model", "bert-tiny", "--data", name, "--output", "out"]
    _fails_in_one_line(capsys, work, argv, *expected)


UNLABELLED_CSV = [c for c in BAD_CSV if c[0] != "text_labels.csv"]  # calibration reads text only


@pytest.mark.parametrize("name, expected", UNLABELLED_CSV, ids=[c[0] for c in UNLABELLED_CSV])
def test_export_bad_calibration_csv(capsys, work, model_file, name, expected):
    argv = ["export", model_file, "out/clf.tflite", "--quantize", "int8"]
    argv += ["--calibration-data", name, "--calibration-tokenizer", "not_a_model"]
    _fails_in_one_line(capsys, work, argv, *expected)


def test_export_calibration_csv_needs_no_label_column(capsys, work, model_file):
    # A text-only CSV is valid calibration data: the next problem is reported instead.
    (work / "texts.csv").write_text("text\nfirst sentence\nsecond sentence\n")
    argv = ["export", model_file, "out/clf.tflite", "--quantize", "int8"]
    argv += ["--calibration-data", "texts.csv", "--calibration-tokenizer", "not_a_model"]
    _fails_in_one_line(capsys, work, argv, "No tokenizer files in 'not_a_model'")


# --- a checkpoint that is not a model -----------------------------------------------------------


def test_demo_model_is_not_a_checkpoint(capsys, work):
    line = _fails_in_one_line(
        capsys, work, ["demo", "--model", "not_a_model", "--output", "out"], "No config.json"
    )
    assert "save_pretrained" in line
    _fails_in_one_line(
        capsys, work, ["demo", "--model", "nowhere", "--output", "out"], "does not exist"
    )


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--teacher", "not_a_model"], "is a directory, not a .keras model file"),
        (["--teacher", "broken.keras"], "is not a zip archive"),
        (["--teacher", "missing.keras"], "does not exist"),
    ],
)
def test_train_distill_teacher_is_not_a_model(capsys, work, argv, expected):
    argv = ["train", "distill", "--model", "bert-tiny", "--output", "out", *argv]
    _fails_in_one_line(capsys, work, argv, "--teacher", expected, "Fix")


def test_train_model_given_a_folder(capsys, work):
    argv = ["train", "classify", "--model", "not_a_model", "--output", "out"]
    _fails_in_one_line(capsys, work, argv, "takes a zoo model name", "tfzoo demo --model DIR")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("not_a_model", "is a directory, not a .keras model file"),
        ("broken.keras", "is not a zip archive"),
        ("zip_not_model.keras", "could not be loaded as a Keras model"),
        ("notes.txt", "does not end with .keras"),
    ],
)
def test_export_and_compress_source_is_not_a_model(capsys, work, source, expected):
    _fails_in_one_line(capsys, work, ["export", source, "out/m.tflite"], expected, "Fix")
    _fails_in_one_line(capsys, work, ["compress", "prune", source, "out/p.keras"], expected)


# --- build --set values, export --quantize without calibration -------------------------------------

BAD_SET = [
    ("hidden_dim=abc", ["hidden_dim must be a whole number", "hidden_dim=128", "Fix"]),
    ("num_layers=2.5", ["--set num_layers=2.5", "must be a whole number", "Fix"]),
    ("num_layers=true", ["--set num_layers=true", "must be a whole number"]),
    ("dropout=high", ["dropout must be a number", "dropout=0.1", "Fix"]),
    ("activation=3", ["activation must be a string", "Fix"]),
    ("no_such_key=1", ["Unknown override(s) ['no_such_key']", "hidden_dim", "Fix"]),
    ("hidden_dim=-16", ["hidden_dim=-16", "Fix"]),
    ("num_heads=0", ["num_heads=0", "Fix"]),
    ("head_dim=abc", ["head_dim=abc", "Fix"]),
    ("dtype=7", ["dtype=7", "Fix"]),
]


@pytest.mark.parametrize("setting, expected", BAD_SET, ids=[c[0] for c in BAD_SET])
def test_build_bad_set_value_is_one_line(capsys, work, setting, expected):
    _fails_in_one_line(capsys, work, ["build", "bert-tiny", "--set", setting], *expected)


def test_build_set_accepts_an_int_for_a_float(capsys):
    assert main(["build", "bert-tiny", "--set", "dropout=0", "--set", "num_layers=1"]) == 0
    assert "bert-tiny (BertBackbone)" in capsys.readouterr().out


@pytest.mark.parametrize("mode", ["int8", "int8-full"])
def test_export_calibrated_quantize_without_data_names_the_flags(capsys, work, model_file, mode):
    line = _fails_in_one_line(
        capsys, work, ["export", model_file, "out.tflite", "--quantize", mode], f"--quantize {mode}"
    )
    assert "--calibration-data" in line and "--calibration-tokenizer" in line
    assert "representative_data" not in line  # the Python argument means nothing here


# --- output that cannot be written, and output that exists ----------------------------------------


def _output_cases(model_file, output):
    return {
        "demo": ["demo", "--output", output],
        "train": ["train", "classify", "--model", "bert-tiny", "--output", output],
        "export": ["export", model_file, output + ".tflite"],
        "build": ["build", "bert-tiny", "--output", output + ".keras"],
        "compress": ["compress", "prune", model_file, output + ".keras"],
        "viz": ["viz", "attention", "--text", "hello", "--output", output + ".png"],
    }


@pytest.mark.parametrize("command", ["demo", "train", "export", "build", "compress", "viz"])
def test_output_below_a_regular_file(capsys, work, model_file, command):
    argv = _output_cases(model_file, "notes.txt/out")[command]
    _fails_in_one_line(capsys, work, argv, "notes.txt is a file, not a directory", "Fix")


@pytest.mark.parametrize("command", ["demo", "train", "export", "build", "compress", "viz"])
def test_output_on_a_read_only_place(capsys, work, model_file, command):
    folder = _unwritable_folder()
    argv = _output_cases(model_file, f"{folder}/tfzoo-out")[command]
    _fails_in_one_line(capsys, work, argv, "is not writable", "Fix")


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "MODEL", "existing.tflite"],
        ["build", "bert-tiny", "--set", "num_layers=1", "--output", "existing.keras"],
        ["compress", "prune", "MODEL", "existing.keras"],
        ["compress", "structured", "MODEL", "existing.keras"],
        ["viz", "attention", "--text", "hello", "--output", "existing.png"],
        ["demo", "--output", "someone_elses"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_existing_output_needs_overwrite(capsys, work, model_file, argv):
    argv = [model_file if a == "MODEL" else a for a in argv]
    _fails_in_one_line(capsys, work, argv, "pass --overwrite")


def test_train_existing_run_needs_resume(capsys, work):
    argv = ["train", "classify", "--model", "bert-tiny", "--output", "earlier_run"]
    _fails_in_one_line(capsys, work, argv, "model.keras exists", "--resume")


def test_check_output_path_accepts_new_and_overwritten_paths(tmp_path):
    assert cli.check_output_path(str(tmp_path / "new" / "deeper" / "m.keras"))
    (tmp_path / "m.keras").write_text("old")
    assert cli.check_output_path(str(tmp_path / "m.keras"), overwrite=True)
    assert cli.check_output_path(str(tmp_path), directory=True)
    with pytest.raises(ValueError, match="is a file, not a directory"):
        cli.check_output_path(str(tmp_path / "m.keras"), overwrite=True, directory=True)


# --- usage mistakes, help and exit codes ---------------------------------------------------------


def test_usage_mistakes_are_one_line(capsys):
    for argv in (["demo", "--epochs", "two"], ["export"], ["viz"], ["nonsense"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert info.value.code == 2 and len(err) == 1, (argv, err)
        assert "error:" in err[0] and "--help" in err[0]


@pytest.mark.parametrize(
    "argv",
    [[], *[[c] for c in COMMANDS], ["train", "classify"], ["viz", "attention"]]
    + [["compress", "prune"], ["compress", "structured"]],
    ids=lambda argv: " ".join(argv) or "tfzoo",
)
def test_every_help_shows_examples(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "examples:" in out
    assert f"tfzoo {' '.join(argv)}".strip() + " " in out.split("examples:", 1)[1]
    if not argv:
        for command in COMMANDS:
            assert f"\n    {command} " in out, command


def test_a_command_that_returns_its_metrics_exits_0(monkeypatch):
    # `tfzoo train` returns the metrics dict; the console script must exit 0, not print it.
    import tfzoo.cli.train

    monkeypatch.setattr(tfzoo.cli.train, "run", lambda args: {"loss": [0.5]})
    assert main(["train", "classify", "--output", "unused"]) == 0


# --- TensorFlow's start-up lines --------------------------------------------------------------


def test_startup_notices_are_held_and_other_lines_kept(capfd, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/usr/bin/tfzoo", "models"])
    monkeypatch.delenv("TFZOO_DEBUG", raising=False)
    for name in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND"):  # restored after the test
        monkeypatch.setenv(name, os.environ.get(name, "3" if "TF" in name else "tensorflow"))
    _startup.hold_startup_lines()
    os.write(
        2,
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1 1 port.cc:153] oneDNN custom operations are on. You may see ...\n"
        b"I0000 00:00:1 1 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        b"E0000 a real error stays visible\n",
    )
    _startup.release_startup_lines()
    err = capfd.readouterr().err
    assert err == "E0000 a real error stays visible\n"


def test_startup_capture_is_off_for_the_library(capfd, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["python", "train.py"])
    _startup.hold_startup_lines()
    assert _startup._capture is None


def test_a_failing_import_still_shows_its_traceback():
    # _startup.py imports only the standard library, so it loads without TensorFlow.
    code = (
        "import importlib.util, sys\n"
        "sys.argv[0] = '/usr/bin/tfzoo'\n"
        f"spec = importlib.util.spec_from_file_location('c', {os.path.join(ROOT, 'tfzoo', '_startup.py')!r})\n"
        "c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c)\n"
        "c.hold_startup_lines()\n"
        "import os; os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "raise ImportError('a broken install')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TFZOO_DEBUG"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ImportError: a broken install" in result.stderr
    assert "oneDNN" not in result.stderr
