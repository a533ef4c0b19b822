"""Reading and writing Hugging Face checkpoint directories with `safetensors` (NumPy) only.

A Hugging Face directory holds `config.json` and either `model.safetensors` or shards listed in
`model.safetensors.index.json`. Pickled weights (`pytorch_model.bin`) are refused: unpickling runs
arbitrary code, so tfzoo never opens them.
"""

import json
import os
import shutil
import tempfile

import numpy as np

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
# Weight files tfzoo does not open: pickles run code when loaded; the others are not safetensors.
_PICKLE_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
_OTHER_FILES = ("tf_model.h5", "model.ckpt.index", "flax_model.msgpack")
# No trained weight comes near this magnitude (float16 tops out at 65504); a value beyond it is
# damaged bytes (0x7f7f7f7f reads as 3.4e38, a finite float32), not a parameter.
MAX_ABS_WEIGHT = 1e15


def check_weights(array, name, source):
    """Raises `ValueError` unless every value of `array` is finite and below `MAX_ABS_WEIGHT`.

    One pass over the tensor (`max(abs(x))` is NaN as soon as one value is), run on every tensor
    as it is loaded: a checkpoint with overwritten bytes fails here, naming the tensor, instead
    of giving a model whose outputs are NaN or huge.

    Args:
        array: NumPy array. The loaded tensor.
        name: string. The tensor's name, repeated in the error.
        source: string. Where it was read from (a file path), repeated in the error.
    """
    array = np.asarray(array)
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        return array
    peak = np.max(np.abs(array))
    if np.isfinite(peak) and peak <= MAX_ABS_WEIGHT:
        return array
    bad = ~np.isfinite(array) | (np.abs(array) > MAX_ABS_WEIGHT)
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(
        f"Tensor {name!r} in {source} looks corrupted: {int(bad.sum())} of its {array.size} "
        f"values are NaN, infinite or beyond {MAX_ABS_WEIGHT:g} (e.g. {array[index]!r} at index "
        f"{index}). Re-save or re-copy the checkpoint; tfzoo does not load damaged weights."
    )


def conversion_command(path, architecture=None):
    """The one-liner that re-saves a checkpoint as safetensors with `transformers`."""
    cls = architecture or "AutoModel"
    return (
        f'python -c "from transformers import {cls}; d = {path!r}; '
        f'{cls}.from_pretrained(d).save_pretrained(d, safe_serialization=True)"'
    )


def read_config(path):
    """Returns the parsed `config.json` of the directory `path`.

    Raises:
        ValueError: if `path` is not a directory or has no readable `config.json`.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        what = "is a file, not a directory" if os.path.isfile(path) else "does not exist"
        raise ValueError(
            f"Checkpoint path {path!r} {what}. Pass a local Hugging Face model directory holding "
            f"{CONFIG_FILE} and {WEIGHTS_FILE} (tfzoo never downloads)."
        )
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise ValueError(
            f"No {CONFIG_FILE} in {path!r}: tfzoo needs the model's Hugging Face config to know "
            f"its architecture and sizes. Save the model with `save_pretrained` to get one."
        )
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{config_path} is not valid JSON ({e}). Re-save the model.") from e
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} must hold a JSON object, found {type(config).__name__}.")
    return config


class SafetensorsCheckpoint:
    """Lazy read access to the tensors of a (possibly sharded) safetensors checkpoint.

    Args:
        path: string. The model directory.
        architecture: string or `None`. Named in the conversion command of the error raised
            for a directory that holds only pickled weights.

    Example:

    >>> ckpt = tfzoo.convert.checkpoint_io.SafetensorsCheckpoint("/models/bert")
    >>> ckpt.get("embeddings.word_embeddings.weight").shape
    (30522, 768)
    """

    def __init__(self, path, architecture=None):
        from safetensors import safe_open

        self.path = os.fspath(path)
        single = os.path.join(self.path, WEIGHTS_FILE)
        index = os.path.join(self.path, INDEX_FILE)
        if os.path.isfile(single):
            files = {WEIGHTS_FILE}
            self._where = None
        elif os.path.isfile(index):
            with open(index, encoding="utf-8") as f:
                weight_map = json.load(f).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise ValueError(f"{index} has no `weight_map`; the sharded checkpoint is broken.")
            files = set(weight_map.values())
            missing = sorted(f for f in files if not os.path.isfile(os.path.join(self.path, f)))
            if missing:
                raise ValueError(f"{index} lists shard(s) {missing} that are not in {self.path!r}.")
            self._where = dict(weight_map)
        else:
            pickled = [f for f in _PICKLE_FILES if os.path.isfile(os.path.join(self.path, f))]
            other = [f for f in _OTHER_FILES if os.path.isfile(os.path.join(self.path, f))]
            command = conversion_command(self.path, architecture)
            if pickled:
                raise ValueError(
                    f"{self.path!r} holds only {pickled}, not safetensors. tfzoo does not read "
                    f"pickled checkpoints: unpickling runs arbitrary code from the file. Convert it "
                    f"once, in an environment you trust, with\n  {command}"
                )
            if other:
                raise ValueError(
                    f"{self.path!r} holds only {other}; tfzoo reads safetensors weights only. "
                    f"Convert them once with\n  {command}"
                )
            raise ValueError(
                f"No weights in {self.path!r}: expected {WEIGHTS_FILE} or {INDEX_FILE} (sharded)."
            )
        self._handles = {}
        for name in sorted(files):
            try:
                self._handles[name] = safe_open(os.path.join(self.path, name), framework="np")
            except Exception as e:  # safetensors raises its own error types
                raise ValueError(
                    f"Cannot read {os.path.join(self.path, name)} as safetensors: {e}"
                ) from e
        if self._where is None:
            self._where = {k: WEIGHTS_FILE for k in self._handles[WEIGHTS_FILE].keys()}

    def keys(self):
        """All tensor names, sorted."""
        return sorted(self._where)

    def __contains__(self, name):
        return name in self._where

    def get(self, name):
        """The tensor `name` as a float32 NumPy array.

        Raises:
            ValueError: if the tensor holds NaN, infinite or absurdly large values (a damaged
                file; see `check_weights`).
        """
        if name not in self._where:
            raise KeyError(name)
        file = self._where[name]
        handle = self._handles[file]
        if handle.get_slice(name).get_dtype() == "BF16":
            # NumPy has no bfloat16, so safetensors cannot return it: decode it here.
            array = _read_bfloat16(os.path.join(self.path, file), name)
        else:
            array = np.asarray(handle.get_tensor(name), dtype=np.float32)
        return check_weights(array, name, os.path.join(self.path, file))


def _read_bfloat16(file, name):
    """Reads the bfloat16 tensor `name` of a safetensors file as float32 (exact).

    The safetensors layout: an 8-byte little-endian header size, a JSON header mapping names to
    `{"dtype", "shape", "data_offsets": [begin, end]}` (relative to the end of the header), then
    the raw little-endian data. A bfloat16 is the upper 16 bits of a float32.
    """
    with open(file, "rb") as f:
        header_size = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(header_size))[name]
        begin, end = entry["data_offsets"]
        f.seek(8 + header_size + begin)
        raw = np.frombuffer(f.read(end - begin), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


def write_checkpoint(path, config, tensors, overwrite=False, extra_files=None):
    """Writes `config.json` and `model.safetensors` atomically into the directory `path`.

    Both files are written into a temporary sibling directory which is then renamed to `path`,
    so a reader never sees a half-written checkpoint.

    Args:
        path: string. The target directory; it must not exist or be empty unless `overwrite`.
        config: dict. Written as `config.json`.
        tensors: dict of name -> NumPy array. Written as `model.safetensors` (format `pt`, the
            metadata `transformers` expects).
        overwrite: bool. Replace an existing non-empty directory. Defaults to `False`.
        extra_files: dict of relative path -> bytes, further files written into the same
            temporary directory (e.g. sentence-transformers' modules), or `None`.
    """
    from safetensors.numpy import save_file

    path = os.path.abspath(os.fspath(path))
    if os.path.isfile(path):
        raise ValueError(
            f"{path!r} is a file; save_pretrained writes a directory. Pick another path."
        )
    if os.path.isdir(path) and os.listdir(path) and not overwrite:
        raise ValueError(
            f"{path!r} exists and is not empty. Pass overwrite=True to replace it, or pick a new path."
        )
    parent = os.path.dirname(path)
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    except OSError as e:  # read-only file system, no permission, a virtual folder like /proc
        raise ValueError(
            f"Cannot write a checkpoint to {path!r}: {parent!r} is not writable "
            f"({e.strerror or e}). Pick a folder you can write to."
        ) from e
    try:
        arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
        save_file(arrays, os.path.join(tmp, WEIGHTS_FILE), metadata={"format": "pt"})
        with open(os.path.join(tmp, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write("\n")
        for name, data in (extra_files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        old = None
        if os.path.isdir(path):
            # Move the old directory aside first: rename cannot replace a non-empty directory.
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-", dir=parent)
            os.rmdir(old)
            os.rename(path, old)
        os.rename(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
