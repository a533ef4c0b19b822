"""Nothing lost on a crash: atomic, verified, mid-epoch checkpoints that resume exactly.

`keras.callbacks.BackupAndRestore` (Keras 3.15) was checked and does not meet this: it rewrites
`latest.weights.h5` in place (a crash during the write leaves a half-written file), it has no
checksum (a truncated file is either an `OSError` from h5py or, with `double_checkpoint`, a silent
fall-back to the previous file), and although it can save every N batches it resumes at the
start of the saved epoch, so the batches seen before the crash are trained on twice.

`ResumableCheckpoint` writes one file per checkpoint: a header with a SHA-256 of the payload,
then the payload (an `.npz` of every model variable, including dropout seed-generator states,
every optimizer variable, the running metric states and the Keras global seed generator), the
epoch and step. It writes to a temporary file, fsyncs it, renames it into place and fsyncs the
directory, then deletes all but the last `keep` checkpoints. On restart it loads the newest
checkpoint, verifies it, and resumes at the same epoch *and step*: the data is an `EpochData`,
whose batches are a pure function of `(seed, epoch, step)`, so the remaining batches of the
interrupted epoch are exactly the ones the first run would have seen.
"""

import glob
import hashlib
import io
import json
import os
import re

import keras
import numpy as np
import tensorflow as tf

MAGIC = b"TFZOO-CHECKPOINT 1\n"
_NAME = re.compile(r"^ckpt-(\d{10})\.tfzoo$")


class CorruptCheckpointError(ValueError):
    """A checkpoint file that is truncated, altered or not a tfzoo checkpoint."""


# ----------------------------------------------------------------------------------------------
# Deterministic, positionable data
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# Checkpoint files
# ----------------------------------------------------------------------------------------------


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint_file(path, arrays, metadata):
    """Writes `arrays` (dict name -> ndarray) and `metadata` atomically to `path`.

    The file is written to `path + ".tmp-<pid>"`, flushed and fsynced, then renamed to `path`
    (atomic on POSIX), and the directory is fsynced so the rename survives a power cut.

    Raises:
        ValueError: `path` already exists (checkpoints are never overwritten).
    """
    if os.path.exists(path):
        raise ValueError(f"Checkpoint {path} already exists; refusing to overwrite it.")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    header = dict(metadata)
    header["payload_bytes"] = len(payload)
    header["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    directory = os.path.dirname(os.path.abspath(path))
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as f:
        f.write(MAGIC)
        f.write(json.dumps(header, sort_keys=True).encode("utf-8") + b"\n")
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    _fsync_directory(directory)


def read_checkpoint_file(path):
    """Reads and verifies a checkpoint: `(arrays, metadata)`.

    Raises:
        CorruptCheckpointError: (a `ValueError`) the file is not a tfzoo checkpoint, is
            truncated, or its payload does not match its SHA-256; the message names the file.
    """
    with open(path, "rb") as f:
        raw = f.read()
    hint = (
        "Delete this file to resume from the previous checkpoint in the same directory (or "
        "the whole directory to start over)."
    )
    if not raw.startswith(MAGIC):
        raise CorruptCheckpointError(
            f"Checkpoint {path} is corrupt: it does not start with the tfzoo checkpoint header "
            f"({len(raw)} bytes). {hint}"
        )
    end = raw.find(b"\n", len(MAGIC))
    try:
        header = json.loads(raw[len(MAGIC) : end].decode("utf-8")) if end > 0 else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or "payload_sha256" not in header:
        raise CorruptCheckpointError(
            f"Checkpoint {path} is corrupt or truncated: its header cannot be read. {hint}"
        )
    payload = raw[end + 1 :]
    if len(payload) != header["payload_bytes"]:
        raise CorruptCheckpointError(
            f"Checkpoint {path} is truncated: {len(payload)} payload bytes, the header says "
            f"{header['payload_bytes']}. {hint}"
        )
    if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
        raise CorruptCheckpointError(
            f"Checkpoint {path} is corrupt: the SHA-256 of its payload does not match its "
            f"header. {hint}"
        )
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, header


def list_checkpoints(directory):
    """Checkpoint files in `directory`, oldest first (by global step)."""
    paths = [
        p
        for p in glob.glob(os.path.join(directory, "ckpt-*.tfzoo"))
        if _NAME.match(os.path.basename(p))
    ]
    return sorted(paths, key=lambda p: int(_NAME.match(os.path.basename(p)).group(1)))


# ----------------------------------------------------------------------------------------------
# The callback
# ----------------------------------------------------------------------------------------------


def _global_seed_generator():
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute("global_seed_generator")


class ResumableCheckpoint(keras.callbacks.Callback):
    """Checkpoints model, optimizer, metrics, RNG and data position; resumes exactly.

    Every `save_every_steps` training steps (and at the end of each epoch), the callback
    writes `directory/ckpt-<global step>.tfzoo` atomically and keeps the newest `keep`. When
    `fit` starts and `directory` holds a checkpoint, it restores everything and continues at
    the saved epoch and step, so a run killed at any moment (even `SIGKILL`) and restarted with
    the same script ends with the same weights as a run that was never interrupted.

    A checkpoint that fails verification stops training with a `ValueError` naming the file; it
    is never skipped silently and training never silently starts from scratch.

    Args:
        directory: str. Where checkpoints go (created if missing).
        save_every_steps: int or `None`. Save every this many training steps; `None` saves at
            epoch ends only. Mid-epoch saves need `data`. Defaults to `None`.
        keep: int. Number of newest checkpoints kept. Defaults to `3`.
        data: `tfzoo.train.EpochData` or `None`. The training data; needed to resume mid-epoch.
        save_at_epoch_end: bool. Defaults to `True`.

    Example:

    >>> data = tfzoo.train.EpochData(x, y, batch_size=16, seed=0)
    >>> model.fit(data.dataset, epochs=3, callbacks=[
    ...     tfzoo.train.ResumableCheckpoint("run/ckpt", save_every_steps=50, data=data)])
    """

    def __init__(self, directory, save_every_steps=None, keep=3, data=None, save_at_epoch_end=True):
        super().__init__()
        if not directory:
            raise ValueError("ResumableCheckpoint needs a `directory`.")
        if save_every_steps is not None and (
            not isinstance(save_every_steps, int) or save_every_steps < 1
        ):
            raise ValueError(
                f"`save_every_steps` must be an int >= 1 or None. Received: {save_every_steps}"
            )
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"`keep` must be an int >= 1. Received: keep={keep}")
        if save_every_steps is not None and data is None:
            raise ValueError(
                "Mid-epoch checkpoints (save_every_steps) can only resume exactly when the "
                "callback can move the data to the saved step: pass data=tfzoo.train.EpochData(...)"
                " and fit on data.dataset, or use save_every_steps=None (epoch ends only)."
            )
        if data is not None and not isinstance(data, EpochData):
            raise ValueError(f"`data` must be a tfzoo.train.EpochData. Received: {type(data)}")
        self.directory = str(directory)
        self.save_every_steps = save_every_steps
        self.keep = keep
        self.data = data
        self.save_at_epoch_end = save_at_epoch_end
        self.restored_from = None
        self._epoch = 0
        self._step = 0  # steps done in the current epoch
        self._offset = 0  # first step of this epoch's iterator (the resumed step)
        self._global_step = 0
        self._resume_epoch = None
        self._resume_step = 0
        self._resume_metrics = None
        self._pending_metrics = None

    # --- state <-> arrays ---------------------------------------------------------------------
    def _variables(self):
        model = self.model
        groups = {"model": list(model.variables)}
        if model.optimizer is not None:
            groups["optimizer"] = list(model.optimizer.variables)
        groups["metrics"] = list(model.metrics_variables)
        generator = _global_seed_generator()
        groups["rng"] = [generator.state] if generator is not None else []
        return groups

    def _state(self):
        arrays, names = {}, {}
        for group, variables in self._variables().items():
            names[group] = []
            for i, v in enumerate(variables):
                arrays[f"{group}/{i}"] = np.asarray(keras.ops.convert_to_numpy(v))
                names[group].append(v.path)
        return arrays, names

    def _save(self):
        arrays, names = self._state()
        metadata = {
            "epoch": self._epoch,
            "step": self._step,
            "global_step": self._global_step,
            "variables": names,
            "keras_version": keras.__version__,
        }
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"ckpt-{self._global_step:010d}.tfzoo")
        if os.path.exists(path):
            return  # the same step was saved by the epoch-end and step triggers
        write_checkpoint_file(path, arrays, metadata)
        for old in list_checkpoints(self.directory)[: -self.keep]:
            os.remove(old)

    def _restore(self, path):
        arrays, header = read_checkpoint_file(path)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        groups = self._variables()
        # Compiled metrics are built lazily by the first train step, so their saved sums are
        # added after the resumed epoch's first batch (see `on_train_batch_end`).
        metric_values = [arrays[f"metrics/{i}"] for i in range(len(header["variables"]["metrics"]))]
        del groups["metrics"]
        for group, variables in groups.items():
            saved = header["variables"].get(group, [])
            if len(saved) != len(variables):
                raise ValueError(
                    f"Checkpoint {path} does not match this model: it has {len(saved)} {group} "
                    f"variables, the model has {len(variables)}. Use the same model, optimizer and "
                    "metrics as the run that wrote it, or another directory."
                )
            for i, v in enumerate(variables):
                value = arrays[f"{group}/{i}"]
                if tuple(value.shape) != tuple(v.shape):
                    raise ValueError(
                        f"Checkpoint {path}: variable {saved[i]} has shape {value.shape}, the "
                        f"model's {v.path} has {tuple(v.shape)}. Use the same model config."
                    )
                v.assign(value)
        self._epoch, self._step = int(header["epoch"]), int(header["step"])
        self._global_step = int(header["global_step"])
        steps = self.data.steps_per_epoch if self.data is not None else None
        if steps is not None and self._step >= steps:  # saved after the epoch's last batch
            self._epoch, self._step = self._epoch + 1, 0
        if self._step and self.data is None:
            raise ValueError(
                f"Checkpoint {path} was written mid-epoch (epoch {self._epoch}, step "
                f"{self._step}); resuming it exactly needs data=tfzoo.train.EpochData(...)."
            )
        self._resume_epoch, self._resume_step = self._epoch, self._step
        self._resume_metrics = metric_values if self._step else None
        self.restored_from = path

    # --- Keras hooks ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        paths = list_checkpoints(self.directory) if os.path.isdir(self.directory) else []
        if paths:
            self._restore(paths[-1])
            self.model._initial_epoch = self._resume_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        resuming = epoch == self._resume_epoch
        self._step = self._offset = self._resume_step if resuming else 0
        if self.data is not None:
            self.data.set_position(epoch, self._step)
        self._pending_metrics = self._resume_metrics if resuming else None
        self._resume_epoch, self._resume_metrics = None, None

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the index of the last batch run, counted from where this epoch's iterator
        # started (with steps_per_execution=k, the hook runs once per k batches).
        if self._pending_metrics is not None:
            self._add_saved_metrics()
        done = self._offset + batch + 1
        before = self._global_step
        self._global_step += done - self._step
        self._step = done
        every = self.save_every_steps
        if every and self._global_step // every > before // every:
            self._save()

    def _add_saved_metrics(self):
        # Every Keras metric state (Mean's total/count, confusion counts, ...) is a sum over
        # batches, and Keras reset them at the start of this epoch: adding the sums saved
        # mid-epoch makes the epoch's loss and metrics cover all of its batches.
        variables = list(self.model.metrics_variables)
        saved, self._pending_metrics = self._pending_metrics, None
        if len(saved) != len(variables):
            raise ValueError(
                f"Checkpoint {self.restored_from} has {len(saved)} metric variables, the "
                f"compiled model has {len(variables)}: compile with the same metrics."
            )
        for variable, value in zip(variables, saved):
            variable.assign(variable + keras.ops.cast(value, variable.dtype))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_at_epoch_end:
            self._epoch, self._step = epoch + 1, 0
            self._save()
