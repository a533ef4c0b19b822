"""The command's one `UserError` and the checks every command shares.

A check runs before any work, so a mistake costs seconds, and fails with one line that names the
problem and the fix. `tfzoo.cli.main` prints it as `tfzoo <command>: error: ...`, exit code 2.
"""

import os
import tempfile


class UserError(ValueError):
    """A mistake in the command line or its inputs: reported in one line, exit code 2."""


def check_output_path(path, overwrite=False, option="--output", directory=False):
    """Fails with one clear line, before any work, if `path` cannot be written.

    Refuses an existing `path` unless `overwrite` (an existing *directory* is accepted when
    `directory=True`: the caller decides what it may replace inside), a path below a regular
    file (`notes.txt/out`), and a place where no file can be created. The last check is real: a
    probe file is created and removed in the nearest existing folder, so a read-only file system
    is caught even for root, for whom permission bits do not count.
    """
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    exists = os.path.lexists(absolute)
    if exists and not overwrite and not (directory and os.path.isdir(absolute)):
        raise UserError(
            f"{option} {path} already exists; pass --overwrite to replace it, or choose another "
            f"{option}."
        )
    if exists and directory and not os.path.isdir(absolute):
        raise UserError(f"{option} {path} is a file, not a directory; choose another {option}.")
    folder = absolute if (directory and os.path.isdir(absolute)) else os.path.dirname(absolute)
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise UserError(
            f"{option} {path} cannot be created: {folder} is a file, not a directory. Fix: "
            f"choose another {option}."
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".tfzoo-write-check-", dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise UserError(
            f"{option} {path} is not writable ({error.strerror} in {folder}). Fix: choose a "
            f"folder you can write to for {option}."
        ) from None
    return path


def check_keras_file(path):
    """Fails in one line unless `path` looks like a `.keras` file (a zip archive)."""
    import zipfile

    if os.path.isdir(path):
        raise UserError(
            f"{path} is a directory, not a .keras model file. Fix: pass the file written by "
            "model.save('m.keras') (or `tfzoo build ... --output m.keras`)."
        )
    if not os.path.exists(path):
        raise UserError(f"{path} does not exist. Fix: pass the path of a .keras model file.")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        what = "does not end with .keras" if not path.endswith(".keras") else "is not a zip archive"
        raise UserError(
            f"{path} is not a Keras model file ({what}). Fix: save the model with "
            "model.save('m.keras') and pass that file."
        )


def check_keras_output(path, overwrite, option="output"):
    """Fails in one line unless `path` ends with `.keras` and can be written."""
    if not path.endswith(".keras"):
        raise UserError(f"{option} must end with .keras, got {path}")
    check_output_path(path, overwrite, option)


def one_line(error):
    """The first line of an error; an OSError without a message gets its reason and file."""
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    # A short message with a command on its own line ("Convert it with\n  python ...") is
    # joined; a long one (a TensorFlow graph trace) is cut to its first line.
    return " ".join(lines) if len(lines) <= 3 else lines[0]
