"""The demo's length-bucketed training batches (the demo itself runs in `make demo`)."""

import numpy as np

from tfzoo.demo import _bucketed


def _inputs(lengths, width=48):
    mask = (np.arange(width)[None, :] < np.asarray(lengths)[:, None]).astype("int32")
    ids = np.where(mask == 1, np.arange(len(lengths))[:, None] + 1, 0).astype("int32")
    return {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(ids)}


def test_every_example_once_per_epoch_padded_to_its_bucket():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 49, 200)
    x, y = _inputs(lengths), np.arange(200)
    batches = _bucketed(x, y, batch_size=16, seed=3)
    for _ in range(2):
        seen = []
        for i in range(len(batches)):
            features, labels = batches[i]
            width = features["token_ids"].shape[1]
            assert width in (16, 32, 48) and len(labels) <= 16
            # Nothing real is cut off, and no sequence is padded past its bucket.
            assert (lengths[labels] <= width).all() and (lengths[labels] > width - 16).all()
            np.testing.assert_array_equal(features["token_ids"], x["token_ids"][labels, :width])
            seen.extend(labels.tolist())
        assert sorted(seen) == list(range(200))
        batches.on_epoch_end()


def test_order_is_reshuffled_each_epoch_and_deterministic():
    x, y = _inputs(np.random.default_rng(1).integers(3, 49, 100)), np.arange(100)

    def orders(seed):
        batches, out = _bucketed(x, y, batch_size=8, seed=seed), []
        for _ in range(2):
            out.append(np.concatenate([batches[i][1] for i in range(len(batches))]))
            batches.on_epoch_end()
        return out

    first, again = orders(0), orders(0)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])


def _settings(**changes):
    settings = {"model_dir": "/m", "data_csv": "movie_reviews", "epochs": 2}
    settings.update(changes)
    return settings


def test_a_run_with_the_same_settings_is_reused(tmp_path):
    from tfzoo.demo import _settings_guard

    _settings_guard(str(tmp_path), False, _settings())
    (tmp_path / "finetuned.weights.h5").write_bytes(b"weights")
    _settings_guard(str(tmp_path), False, _settings())
    assert (tmp_path / "finetuned.weights.h5").read_bytes() == b"weights"


def test_a_run_with_other_settings_is_refused_or_started_afresh(tmp_path):
    import pytest

    from tfzoo.demo import _settings_guard

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
