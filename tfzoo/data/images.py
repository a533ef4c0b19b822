"""Real images, offline: scikit-learn's bundled handwritten digits, ready for a ViT.

`sklearn.datasets.load_digits` ships inside the scikit-learn package (no download): 1,797 grey
8x8 images of the digits 0-9, 16 grey levels, from the UCI "Optical Recognition of Handwritten
Digits" data set. `load_digits` upscales them, normalises them and splits them deterministically.
"""

import dataclasses

import numpy as np

from tfzoo.data.splits import SPLIT_NAMES, LabelledData, Split, split_of_bytes

DIGITS_SOURCE = (
    "Optical Recognition of Handwritten Digits (Alpaydin & Kaynak, 1998), UCI Machine Learning "
    "Repository; the 1,797-image 8x8 copy bundled with scikit-learn "
    "(`sklearn.datasets.load_digits`)."
)
DIGITS_LICENSE = "UCI lists the data set under CC BY 4.0; scikit-learn is BSD-3-Clause."


@dataclasses.dataclass(frozen=True)
class ImageSplit(Split):
    """One split of a labelled image data set.

    Attributes:
        images: `np.ndarray` of float32, shape `(n, height, width, channels)`.
        labels: `np.ndarray` of int32, shape `(n,)`.
    """

    images: np.ndarray
    labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class ImageClassificationData(LabelledData):
    """A labelled image data set with deterministic train/validation/test splits.

    Attributes:
        train: `ImageSplit`.
        validation: `ImageSplit`.
        test: `ImageSplit`.
        label_names: tuple of str. `label_names[i]` names label `i`.
        mean: float. The pixel mean subtracted (of the training split, pixels scaled to [0, 1]).
        std: float. The pixel standard deviation divided by (same).
        source: str. Where the data comes from.
        license: str. What is known about the licence of the data.
    """

    train: ImageSplit
    validation: ImageSplit
    test: ImageSplit
    label_names: tuple
    mean: float
    std: float
    source: str
    license: str

    def __repr__(self):
        sizes = self._split_sizes()
        shape = self.train.images.shape[1:]
        return f"ImageClassificationData({sizes}, image shape={shape}, classes={self.num_classes})"


def load_digits(image_size=32, split_fractions=(0.8, 0.1, 0.1), normalize=True):
    """scikit-learn's handwritten digits as float32 `(n, image_size, image_size, 1)` images.

    The 8x8 images (grey levels 0-16) are scaled to [0, 1], upscaled bilinearly to
    `image_size` (half-pixel centres, `tf.image.resize`), and, with `normalize`, standardised by
    the mean and standard deviation of the training split's pixels. The split of an image is
    decided by a SHA-256 hash of its raw 8x8 pixels, so it depends neither on the row order nor
    on any random seed, and identical images always share a split (no leak from train to test).
    About 80/10/10 percent (1,797 images in all).

    Args:
        image_size: int >= 8. Side of the returned images. Defaults to `32`.
        split_fractions: tuple of 3 floats. Train, validation, test fractions summing to 1.
            Defaults to `(0.8, 0.1, 0.1)`.
        normalize: bool. Standardise with the training mean and std; otherwise pixels stay in
            [0, 1]. Defaults to `True`.

    Returns:
        An `ImageClassificationData` with `train`, `validation`, `test` `ImageSplit`s and
        `label_names` `("0", ..., "9")`.

    Example:

    >>> data = tfzoo.data.load_digits(image_size=32)
    >>> data.train.images.shape[1:], data.num_classes
    ((32, 32, 1), 10)
    """
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < 8:
        raise ValueError(
            f"`image_size` must be an int >= 8 (the digits are 8x8). Received: "
            f"image_size={image_size!r}"
        )
    fractions = tuple(float(f) for f in split_fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"`split_fractions` must be 3 non-negative numbers (train, validation, test) that "
            f"sum to 1. Received: split_fractions={split_fractions!r}"
        )
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as e:
        raise ImportError(
            "tfzoo.data.load_digits reads the digits bundled with scikit-learn: "
            "pip install scikit-learn"
        ) from e

    bunch = sklearn_digits()
    raw = np.asarray(bunch.images, "float32")  # (n, 8, 8), values 0..16
    labels = np.asarray(bunch.target, "int32")
    images = raw[..., None] / 16.0  # (n, 8, 8, 1) in [0, 1]
    if image_size != 8:
        import tensorflow as tf

        images = tf.image.resize(images, (image_size, image_size), method="bilinear").numpy()
    images = images.astype("float32")
    splits = np.array([split_of_bytes(r.tobytes(), fractions) for r in raw.astype("uint8")])
    mean, std = 0.0, 1.0
    if normalize:
        train_pixels = images[splits == "train"]
        mean, std = float(train_pixels.mean()), float(train_pixels.std())
        images = (images - mean) / std
    parts = {
        name: ImageSplit(images=images[splits == name], labels=labels[splits == name])
        for name in SPLIT_NAMES
    }
    return ImageClassificationData(
        **parts,
        label_names=tuple(str(i) for i in range(10)),
        mean=mean,
        std=std,
        source=DIGITS_SOURCE,
        license=DIGITS_LICENSE,
    )
