"""Holding TensorFlow's C++ start-up notices while the `tfzoo` command imports the package.

Loading TensorFlow's shared libraries logs "oneDNN custom operations are on" and "Could not
find cuda drivers" through absl *before* absl is initialised, so no environment variable
(TF_CPP_MIN_LOG_LEVEL, TF_CPP_MAX_VLOG_LEVEL, GLOG_minloglevel, ABSL_MIN_LOG_LEVEL: all tried)
silences them. The `tfzoo` command alone (never `import tfzoo`) sends file descriptor 2 to a
temporary file while the package imports TensorFlow, then writes back every line except
these known notices. Nothing about TensorFlow changes (oneDNN stays on); TFZOO_DEBUG=1 shows
everything.

`tfzoo/__init__.py` calls `hold_startup_lines()` before anything else, so this module imports
only the standard library; the command (`tfzoo.cli.startup`) calls `release_startup_lines()`.
"""

import os
import sys
import tempfile

_STARTUP_NOTICES = (
    ("absl::InitializeLog()", "All log messages before"),
    ("port.cc:", "oneDNN custom operations are on"),
    ("cudart_stub.cc:", "Could not find cuda drivers"),
    ("cpu_feature_guard.cc:", "This TensorFlow binary is optimized"),
    ("To enable the following instructions:", "rebuild TensorFlow"),
)
_capture = None  # (saved fd 2, temporary file) while the start-up lines are being held


def _is_startup_notice(line):
    return any(a in line and b in line for a, b in _STARTUP_NOTICES)


def _running_as_command():
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name in ("tfzoo", "tfzoo.exe") and not os.environ.get("TFZOO_DEBUG")


def hold_startup_lines():
    """Called first by `tfzoo/__init__.py`; acts only in the `tfzoo` command (see above)."""
    global _capture
    if _capture is not None or not _running_as_command():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        sys.stderr.flush()
        held = tempfile.TemporaryFile()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
    except (OSError, ValueError):
        return  # no usable stderr: nothing to hide
    _capture = (saved, held)
    import atexit

    atexit.register(release_startup_lines)  # an import that fails still shows its traceback


def release_startup_lines():
    """Restores stderr and writes back what TensorFlow's import printed, minus the notices."""
    global _capture
    if _capture is None:
        return
    saved, held = _capture
    _capture = None
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(saved, 2)
    os.close(saved)
    held.seek(0)
    text = held.read().decode("utf-8", "replace")
    held.close()
    kept = "".join(line for line in text.splitlines(keepends=True) if not _is_startup_notice(line))
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()
