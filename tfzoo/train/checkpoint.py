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

import os

import keras
import numpy as np

# Imported from here before the module was split; `tfzoo.train` is the public place.
from tfzoo.train.checkpoint_files import (
    CorruptCheckpointError,
    list_checkpoints,
    read_checkpoint_file,
    write_checkpoint_file,
)
from tfzoo.train.epoch_data import EpochData

__all__ = [
    "CorruptCheckpointError",
    "EpochData",
    "ResumableCheckpoint",
    "list_checkpoints",
    "read_checkpoint_file",
    "write_checkpoint_file",
]


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
