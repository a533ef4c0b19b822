import numpy as np
import pytest

from tfzoo.data import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits(image_size=32)


def test_digits_shapes_splits_and_normalisation(digits):
    assert (len(digits.train), len(digits.validation), len(digits.test)) == (1423, 181, 193)
    assert digits.num_classes == 10 and digits.label_names[3] == "3"
    for split in (digits.train, digits.validation, digits.test):
        assert split.images.shape[1:] == (32, 32, 1) and split.images.dtype == np.float32
        assert split.labels.dtype == np.int32 and set(np.unique(split.labels)) <= set(range(10))
    # Standardised with the training split's own mean and std.
    assert abs(float(digits.train.images.mean())) < 1e-4
    assert abs(float(digits.train.images.std()) - 1.0) < 1e-4
    assert len(np.unique(digits.test.labels)) == 10


def test_digits_are_deterministic_and_splits_disjoint(digits):
    again = load_digits(image_size=32)
    np.testing.assert_array_equal(again.test.images, digits.test.images)
    np.testing.assert_array_equal(again.train.labels, digits.train.labels)
    train = {image.tobytes() for image in digits.train.images}
    assert not any(image.tobytes() in train for image in digits.test.images)


def test_digits_upscaling_keeps_the_picture():
    from sklearn.datasets import load_digits as sklearn_digits

    small = load_digits(image_size=8, normalize=False)
    # At 8x8 without normalisation the images are scikit-learn's, scaled to [0, 1].
    originals = {(img / 16.0).astype("float32").tobytes() for img in sklearn_digits().images}
    assert all(image[..., 0].tobytes() in originals for image in small.test.images)
    big = load_digits(image_size=16, normalize=False)
    # Averaging each 2x2 block of the bilinear 2x upscale gives back a blur of the original
    # (measured: correlation 0.979, mean absolute difference 0.07 on a [0, 1] scale).
    pooled = big.test.images[..., 0].reshape(-1, 8, 2, 8, 2).mean((2, 4))
    original = small.test.images[..., 0]
    assert np.corrcoef(pooled.ravel(), original.ravel())[0, 1] > 0.95
    assert np.mean(np.abs(pooled - original)) < 0.1
    assert 0.0 <= big.test.images.min() and big.test.images.max() <= 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(image_size=4), "image_size"),
        (dict(image_size=32.0), "image_size"),
        (dict(split_fractions=(0.5, 0.5, 0.5)), "split_fractions"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits(**kwargs)
