"""Where an export is written before it is checked, and how it reaches its path.

Every format, the decoder exports included, writes its artifact into a temporary directory
beside the requested path (`Stage`). Only once the artifact agrees with the Keras model is it
moved onto the path (`os.replace`, atomic); one that disagrees is kept as
`NAME.UNVERIFIED.EXT` (`unverified_path`), so the path never holds an unchecked artifact. The
temporary directory holds an owner file (pid and host) so a later export to the same path can
remove what a killed export left behind (`remove_stale_temp_dirs`) without touching a live one.
"""

import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings

# Beside every temporary export directory: the pid and host of the export writing it.
TEMP_OWNER_FILE = ".tfzoo-export-owner.json"
# An export directory with no live owner on this host is removed after this many seconds.
STALE_TEMP_SECONDS = 24 * 3600
# Extensions an UNVERIFIED name keeps at its end; any other path (a SavedModel directory)
# gets `.UNVERIFIED` appended.
FILE_EXTENSIONS = (".tflite", ".onnx", ".litertlm")


class Stage:
    """A temporary directory beside `path` holding the artifact until it is placed.

    Use as a context manager; the directory (and whatever was not placed) is removed on exit:

        with Stage(path, overwrite) as stage:
            write(stage.artifact)
            final = stage.place(verified)   # path, or NAME.UNVERIFIED.EXT

    Args:
        path: str. The requested artifact path.
        overwrite: bool. Whether an existing file at `path` (or at the UNVERIFIED name) may be
            replaced.
    """

    def __init__(self, path, overwrite):
        self.path = path
        self.overwrite = overwrite
        self.folder = None
        self.artifact = None

    def __enter__(self):
        self.folder = make_temp_dir(self.path)
        self.artifact = os.path.join(self.folder, os.path.basename(self.path))
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.folder, ignore_errors=True)
        return False

    def place(self, verified):
        """Moves the artifact onto the path if `verified`, else onto the UNVERIFIED name.

        Returns:
            The path the artifact now has.

        Raises:
            ValueError: a verified artifact whose path appeared while exporting, without
                `overwrite=True` (it is not replaced).
        """
        final = self.path if verified else unverified_path(self.path, self.overwrite)
        if verified and not self.overwrite and os.path.lexists(final):
            raise ValueError(
                f"{final} appeared while exporting; it was not replaced. Pass overwrite=True or "
                f"choose another path."
            )
        move_into_place(self.artifact, final)
        return final


def check_new_path(path, overwrite):
    """Refuses an existing `path` unless `overwrite`: an export never replaces a file silently."""
    if os.path.lexists(path) and not overwrite:
        raise ValueError(
            f"{path} already exists; tfzoo.export never replaces a file silently. Pass "
            f"overwrite=True to replace it, or choose another path."
        )


def make_temp_dir(path):
    """Creates `.NAME.XXXXXXXX.tmp/` beside `path`, after removing stale ones (`_is_stale`).

    The directory holds an owner file (this process's pid and host) so that a later export to
    the same path can tell a leftover of a killed export from one still running.
    """
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    try:
        os.makedirs(folder, exist_ok=True)
        remove_stale_temp_dirs(path)
        temp = tempfile.mkdtemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()}
        with open(os.path.join(temp, TEMP_OWNER_FILE), "w", encoding="utf-8") as f:
            json.dump(owner, f)
    except OSError as e:
        raise type(e)(
            f"Cannot write the export target {path}: {e.strerror or e} in {folder}. Choose a "
            f"path in a writable folder."
        ) from None
    return temp


def remove_stale_temp_dirs(path, max_age_s=STALE_TEMP_SECONDS):
    """Removes the temporary directories that killed exports to `path` left beside it.

    A `.NAME.XXXXXXXX.tmp/` directory is stale when its owner file names this host and a
    process id that no longer runs, or (another host, no owner file, or a platform without
    a process check) when it was last modified more than `max_age_s` seconds ago. A live
    export's directory is never removed.

    Args:
        path: str. The export target whose leftovers to remove.
        max_age_s: float. Age after which an unowned directory is stale. Defaults to 24 hours.

    A directory that is kept (a live export, or a young one without a live owner) is reported
    with a warning that names it, so that a leftover is never kept silently.

    Returns:
        The list of removed directories.
    """
    folder = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{os.path.basename(path)}.") + r"[A-Za-z0-9_]+\.tmp")
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        candidate = os.path.join(folder, name)
        if pattern.fullmatch(name) and os.path.isdir(candidate) and not os.path.islink(candidate):
            if _is_stale(candidate, max_age_s):
                shutil.rmtree(candidate, ignore_errors=True)
                removed.append(candidate)
            else:
                warnings.warn(
                    f"Kept {candidate}: a temporary folder of another export to {path} that may "
                    f"still be running. Remove it by hand if no export is running.",
                    stacklevel=3,
                )
    return removed


def _is_stale(temp, max_age_s):
    try:
        with open(os.path.join(temp, TEMP_OWNER_FILE), encoding="utf-8") as f:
            owner = json.load(f)
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        pid, host = None, None
    if pid is not None and host == socket.gethostname() and os.name == "posix":
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:  # PermissionError: it exists, owned by another user
            return False
        return False
    try:
        return time.time() - os.path.getmtime(temp) > max_age_s
    except OSError:
        return False


def unverified_path(path, overwrite):
    """`model.tflite` -> `model.UNVERIFIED.tflite` (`-1`, `-2`, ... if that exists)."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in FILE_EXTENSIONS:
        stem, ext = path, ""
    candidate = f"{stem}.UNVERIFIED{ext}"
    index = 0
    while os.path.lexists(candidate) and not overwrite:
        index += 1
        candidate = f"{stem}.UNVERIFIED-{index}{ext}"
    return candidate


def move_into_place(source, destination):
    """Moves a file or directory onto `destination` atomically (replacing it, if it exists)."""
    if os.path.isdir(destination) and not os.path.islink(destination):
        # os.replace cannot put a directory over a non-empty one: move the old one aside first.
        aside = tempfile.mkdtemp(
            prefix=".replaced.", dir=os.path.dirname(os.path.abspath(destination))
        )
        os.replace(destination, os.path.join(aside, "old"))
        os.replace(source, destination)
        shutil.rmtree(aside, ignore_errors=True)
    elif os.path.isdir(source) and os.path.lexists(destination):
        os.remove(destination)
        os.replace(source, destination)
    else:
        os.replace(source, destination)
