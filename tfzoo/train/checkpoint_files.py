"""The tfzoo checkpoint file: a SHA-256-checked header and an `.npz` payload, written atomically.

Used by `tfzoo.train.ResumableCheckpoint`; see `tfzoo.train.checkpoint` for the format's reasons.
"""

import glob
import hashlib
import io
import json
import os
import re

import numpy as np

MAGIC = b"TFZOO-CHECKPOINT 1\n"
_NAME = re.compile(r"^ckpt-(\d{10})\.tfzoo$")


class CorruptCheckpointError(ValueError):
    """A checkpoint file that is truncated, altered or not a tfzoo checkpoint."""


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
