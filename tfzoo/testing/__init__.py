"""The shared test harness and fixtures: thin test files for layers and models, importable by users."""

from tfzoo.testing.fixtures import (
    FAMILY_MODELS,
    SMALL_TEXT_SIZES,
    TINY_IMAGE_SIZES,
    TINY_SIZES,
    TINY_TEXT_SIZES,
    randomize_weights,
    tiny_classification_data,
    tiny_model,
    tiny_token_data,
)
from tfzoo.testing.harness import (
    assert_close,
    greedy_without_cache,
    run_layer_test,
    run_model_test,
    tiny_inputs,
)

__all__ = [
    "FAMILY_MODELS",
    "SMALL_TEXT_SIZES",
    "TINY_IMAGE_SIZES",
    "TINY_SIZES",
    "TINY_TEXT_SIZES",
    "assert_close",
    "greedy_without_cache",
    "randomize_weights",
    "run_layer_test",
    "run_model_test",
    "tiny_classification_data",
    "tiny_inputs",
    "tiny_model",
    "tiny_token_data",
]
