"""Checkpoints from the ecosystem: Hugging Face directories and keras-hub backbones.

- `from_pretrained(path, task=None)`: a local Hugging Face directory (`config.json` +
  safetensors) -> a tfzoo BERT, GPT-2 or Llama model. Pickled weights are refused.
- `save_pretrained(model, path)`: a tfzoo model -> a directory `transformers` loads.
- `load_pretrained(path)`: the model and the `tfzoo.text` tokenizer of one directory.
- `from_keras_hub(backbone)` / `to_keras_hub(model)`: weights between keras-hub's
  `BertBackbone`/`GPT2Backbone` and tfzoo.

Every conversion is checked in `tests/convert` against the other library's outputs.
"""

from tfzoo.convert.hugging_face import (
    SUPPORTED_ARCHITECTURES,
    SUPPORTED_MODEL_TYPES,
    from_pretrained,
    load_pretrained,
    save_pretrained,
)
from tfzoo.convert.keras_hub_transfer import from_keras_hub, to_keras_hub

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "SUPPORTED_MODEL_TYPES",
    "from_keras_hub",
    "from_pretrained",
    "load_pretrained",
    "save_pretrained",
    "to_keras_hub",
]
