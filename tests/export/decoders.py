"""The tiny GPT-2 and Llama language models that the decoder export tests export."""

import keras

import tfzoo
from tfzoo.testing import SMALL_TEXT_SIZES

COMMON = dict(SMALL_TEXT_SIZES, num_heads=4, vocabulary_size=97, max_sequence_length=48)
CONFIGS = {"gpt2": COMMON, "llama-tiny": dict(COMMON, num_key_value_heads=2)}


def build(name, seed=1234):
    """The `causal_lm` of zoo entry `name` (a key of `CONFIGS`), with seeded random weights."""
    keras.utils.set_random_seed(seed)
    return tfzoo.build(name, task="causal_lm", **CONFIGS[name])
