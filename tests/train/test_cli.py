"""`tfzoo train` command line: a tiny real run, resume refusal, one-line user errors."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tfzoo.cli.train import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = [
    "--model",
    "bert-tiny",
    "--override",
    "num_layers=1",
    "--override",
    "hidden_dim=16",
    "--override",
    "num_heads=2",
    "--override",
    "intermediate_dim=32",
    "--max-examples",
    "48",
    "--batch-size",
    "16",
    "--sequence-length",
    "32",
    "--epochs",
    "1",
    "--save-every-steps",
    "2",
    "--verbose",
    "0",
]


def _run(argv):
    code = f"from tfzoo.cli.train import main; main({argv!r})"
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=600, text=True
    )


# Subprocess(es) importing TensorFlow and training: tens of seconds even on an idle
# machine. Run with `pytest -m slow tests/train`.
@pytest.mark.slow
def test_classify_one_short_epoch_writes_every_output(tmp_path):
    out = tmp_path / "run"
    run = _run(["classify", "--data", "movie_reviews", "--output", str(out)] + TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "classify" and metrics["train_examples"] == 48
    assert metrics["epochs_run"] == [0]
    history = metrics["history"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert 0.0 < history["loss"][0] < 5.0 and 0.0 <= history["val_accuracy"][0] <= 1.0
    assert metrics["tokens_per_second"] > 0
    assert (out / "model.keras").stat().st_size > 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if importlib.util.find_spec("tensorboard") is not None:
        assert any(
            name.startswith("events.out.tfevents")
            for _, _, files in os.walk(out / "logs")
            for name in files
        )
    else:
        assert "pip install tensorboard" in metrics["tensorboard_logs"]
    assert sorted(os.listdir(out / "checkpoints"))[-1] == "ckpt-0000000003.tfzoo"

    # Running again into the same directory is refused (nothing is overwritten) ...
    again = _run(["classify", "--data", "movie_reviews", "--output", str(out)] + TINY)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].startswith("tfzoo train: error:")
    assert "--resume" in again.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["classify", "--data", "nowhere.csv", "--output", "x"], "file not found"),
        (["classify", "--data", "news", "--output", "x"], "no labels"),
        (["clm", "--model", "bert-tiny", "--output", "x"], "needs a GPT or Llama model"),
        (["classify", "--model", "bert-tinyy", "--output", "x"], "Unknown model name"),
        (["distill", "--teacher", "missing.keras", "--output", "x"], "--teacher missing.keras"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tfzoo train: error:"), err
    assert message in err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify", "--help"])
    assert info.value.code == 0
    assert "tfzoo train classify --model bert-mini" in capsys.readouterr().out


@pytest.mark.slow
def test_clm_with_lora_saves_the_merged_model(tmp_path):
    import keras

    out = tmp_path / "lora"
    tiny = [a if a != "bert-tiny" else "llama-tiny" for a in TINY]
    argv = ["clm", "--data", "news", "--output", str(out), "--lora-rank", "4"]
    run = _run(argv + tiny + ["--lora-targets", "all", "--learning-rate", "1e-2"])
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    lora = metrics["lora"]
    assert lora["rank"] == 4 and lora["targets"] == ["all"]
    assert 0 < lora["trainable_parameters"] < lora["total_parameters"]
    model = keras.saving.load_model(out / "model.keras")
    assert not any("lora" in v.path for v in model.variables)
    assert model.count_params() == lora["total_parameters"] - lora["trainable_parameters"]
