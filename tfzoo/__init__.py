"""tfzoo: a Keras 3 Transformer zoo you can trust, train, compress and ship.

import tfzoo
model = tfzoo.build("bert-mini", task="classification", num_classes=2)
model.fit(train_ds, validation_data=val_ds, epochs=3)
tfzoo.export(model, "out/bert-mini-int8.tflite", quantize="int8", representative_data=val_ds)
"""

# First, before TensorFlow loads: the `tfzoo` command (only) holds TensorFlow's C++ start-up
# notices; see tfzoo/_startup.py (standard library only). The library never imports tfzoo.cli.
from tfzoo._startup import hold_startup_lines as _hold_startup_lines  # isort: skip

_hold_startup_lines()

from tfzoo import layers, models  # noqa: E402
from tfzoo.version import __version__  # noqa: E402
from tfzoo.zoo import build, get_config, list_models  # noqa: E402

# Importing these registers every tfzoo Keras class, so `.keras` files load in safe mode.
from tfzoo import compress, convert, data, text, train  # noqa: E402  isort: skip
from tfzoo.compress import (  # noqa: E402
    prepare_qat,  # noqa: E402
    prune_low_magnitude,
    prune_structured,
    strip_pruning,
)
from tfzoo.convert import from_pretrained, load_pretrained, save_pretrained  # noqa: E402
from tfzoo.export import export  # noqa: E402
from tfzoo.text import tokenizer_from_pretrained  # noqa: E402
from tfzoo.train import distill  # noqa: E402

__all__ = [
    "__version__",
    "build",
    "compress",
    "convert",
    "data",
    "distill",
    "export",
    "from_pretrained",
    "get_config",
    "layers",
    "list_models",
    "load_pretrained",
    "models",
    "prepare_qat",
    "prune_low_magnitude",
    "prune_structured",
    "save_pretrained",
    "strip_pruning",
    "text",
    "tokenizer_from_pretrained",
    "train",
]
