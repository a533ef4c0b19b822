"""tfzoo: a Keras 3 Transformer zoo you can trust, train, compress and ship.

    import tfzoo
    model = tfzoo.build("bert-mini", task="classification", num_classes=2)
"""

from tfzoo import layers, models
from tfzoo.version import __version__
from tfzoo.zoo import build, get_config, list_models

__all__ = ["__version__", "build", "get_config", "layers", "list_models", "models"]
