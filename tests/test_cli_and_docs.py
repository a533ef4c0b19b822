import os
import subprocess
import sys

import pytest

from tfzoo.cli import main
from tfzoo.zoo.table import zoo_markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("build", "train", "compress", "export", "verify", "viz", "demo", "models"):
        assert command in out


def test_models_json(capsys):
    assert main(["models", "--family", "bert", "--json"]) == 0
    assert '"bert-base"' in capsys.readouterr().out


def test_build_and_user_errors_are_one_line(tmp_path, capsys):
    out = tmp_path / "m.keras"
    assert main(["build", "bert-tiny", "--set", "num_layers=1", "--output", str(out)]) == 0
    assert out.exists()
    assert main(["build", "bert-tiny", "--output", str(out)]) == 2  # exists, no --overwrite
    assert main(["build", "bert-minii"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tfzoo build: error: Unknown model name 'bert-minii'. Did you mean")
    assert "Traceback" not in "\n".join(err)


def test_zoo_page_is_generated_from_the_registry():
    with open(os.path.join(ROOT, "docs", "zoo.md")) as f:
        assert f.read() == zoo_markdown(), "run: python -m tfzoo.zoo.table > docs/zoo.md"


def test_docs_build_with_warnings_as_errors(tmp_path):
    import mkdocs  # noqa: F401  (the docs extra; `make test` installs it)

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
