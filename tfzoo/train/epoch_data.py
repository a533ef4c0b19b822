"""`EpochData`: in-memory examples whose batches depend only on `(seed, epoch, step)`.

What lets `tfzoo.train.ResumableCheckpoint` resume mid-epoch at exactly the next batch.
"""

import numpy as np
import tensorflow as tf


class EpochData:
    """In-memory examples served in batches whose order depends only on `(seed, epoch)`.

    Epoch `e` visits the examples in the order `argsort(stateless_uniform(seed=[seed, e]))`,
    so any run, in any process, sees the same batches in the same epoch; a
    `ResumableCheckpoint` moves the position to `(epoch, step)` to resume mid-epoch.
    The position is read from two `tf.Variable`s when Keras starts iterating an epoch.

    Args:
        x: array or dict of arrays with the same first dimension (e.g. the `features` of
            `tfzoo.data.classification_dataset`).
        y: array, dict of arrays or `None`. Targets.
        sample_weight: array or `None`.
        batch_size: int. Examples per batch.
        seed: int. Seed of the per-epoch shuffle. Defaults to `0`.
        shuffle: bool. Shuffle each epoch. Defaults to `True`.
        drop_remainder: bool. Drop the last incomplete batch. Defaults to `True` (equal-sized
            batches, which distribution strategies and TPUs want).

    Example:

    >>> data = tfzoo.train.EpochData(features, labels, batch_size=32, seed=1)
    >>> checkpoint = tfzoo.train.ResumableCheckpoint("ckpt/", save_every_steps=100, data=data)
    >>> model.fit(data.dataset, epochs=3, callbacks=[checkpoint])
    """

    def __init__(
        self,
        x,
        y=None,
        sample_weight=None,
        batch_size=32,
        seed=0,
        shuffle=True,
        drop_remainder=True,
    ):
        arrays = [a for a in tf.nest.flatten((x, y, sample_weight)) if a is not None]
        if not arrays:
            raise ValueError("EpochData needs at least `x`.")
        sizes = {int(np.shape(a)[0]) for a in arrays}
        if len(sizes) != 1:
            raise ValueError(
                f"EpochData: every array needs the same number of examples; got sizes {sorted(sizes)}."
            )
        self.num_examples = sizes.pop()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be an int >= 1. Received: batch_size={batch_size}")
        if drop_remainder and batch_size > self.num_examples:
            raise ValueError(
                f"batch_size={batch_size} is larger than the {self.num_examples} examples with "
                "drop_remainder=True, so an epoch would be empty. Use a smaller batch_size."
            )
        self.batch_size = batch_size
        self.seed = int(seed)
        self.shuffle = shuffle
        self.drop_remainder = drop_remainder
        full, rest = divmod(self.num_examples, batch_size)
        self.steps_per_epoch = full + (1 if rest and not drop_remainder else 0)
        self._x, self._y, self._w = x, y, sample_weight
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_epoch")
        self.skip_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_skip_steps")
        self.dataset = self._make_dataset()

    def set_position(self, epoch, step=0):
        """The next iteration of `dataset` serves epoch `epoch` from its batch `step`."""
        self.epoch.assign(int(epoch))
        self.skip_steps.assign(int(step))

    def batch_indices(self, epoch):
        """The example indices of each batch of `epoch` (NumPy; for checks)."""
        order = self._order(tf.constant(epoch, tf.int64)).numpy()
        n = self.steps_per_epoch
        return [order[i * self.batch_size : (i + 1) * self.batch_size] for i in range(n)]

    def _order(self, epoch):
        if not self.shuffle:
            return tf.range(self.num_examples, dtype=tf.int32)
        seed = tf.stack([tf.constant(self.seed, tf.int64), epoch])
        return tf.argsort(tf.random.stateless_uniform([self.num_examples], seed=seed))

    def _make_dataset(self):
        tensors = tf.nest.map_structure(
            lambda a: None if a is None else tf.convert_to_tensor(a),
            (self._x, self._y, self._w),
        )

        def gather(indices):
            x, y, w = tf.nest.map_structure(
                lambda t: None if t is None else tf.gather(t, indices), tensors
            )
            return (x,) if y is None else ((x, y) if w is None else (x, y, w))

        @tf.autograph.experimental.do_not_convert
        def one_epoch(_):
            # The variables are read here, i.e. when Keras creates the epoch's iterator (after
            # `on_epoch_begin`), not when the dataset is defined.
            order = self._order(self.epoch.read_value())  # (num_examples,)
            skip = self.skip_steps.read_value() * self.batch_size
            ds = tf.data.Dataset.from_tensor_slices(order).skip(skip)
            return ds.batch(self.batch_size, drop_remainder=self.drop_remainder)

        ds = tf.data.Dataset.range(1).flat_map(one_epoch)
        return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
