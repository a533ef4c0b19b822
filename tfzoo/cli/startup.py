"""TensorFlow's start-up output in the `tfzoo` command.

`tfzoo/_startup.py` holds TensorFlow's C++ start-up notices while the package imports (it must
run before TensorFlow loads, so it lives in the library and imports only the standard library).
`quiet_tensorflow()`, the first thing `tfzoo.cli.main` does, writes back every held line except
those notices and keeps TensorFlow, absl and the Hugging Face hub quiet and offline.
"""

import os

from tfzoo._startup import release_startup_lines


def quiet_tensorflow():
    """Releases the held start-up lines and quiets TensorFlow's and absl's logging."""
    release_startup_lines()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
