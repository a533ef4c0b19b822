"""Length-bucketed training batches (`tfzoo.data.length_bucketed_batches`, used by the demo)."""

import numpy as np
import pytest

from tfzoo.data import length_bucketed_batches as _bucketed


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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"batch_size": 8, "bucket_width": 2.5}, "bucket_width=2.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    x = _inputs([3, 5, 7])
    with pytest.raises(ValueError, match=message):
        _bucketed(x, np.arange(3), **kwargs)
    with pytest.raises(ValueError, match="padding_mask"):
        _bucketed({"token_ids": x["token_ids"]}, np.arange(3), batch_size=8)
    with pytest.raises(ValueError, match="same number of examples"):
        _bucketed(x, np.arange(2), batch_size=8)


def test_bucket_width_sets_the_widths():
    batches = _bucketed(_inputs([3, 9, 17, 30]), np.arange(4), batch_size=4, bucket_width=8)
    widths = sorted(batches[i][0]["token_ids"].shape[1] for i in range(len(batches)))
    assert widths == [8, 16, 24, 32]
