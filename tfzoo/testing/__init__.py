"""The shared test harness: thin test files for layers and models, importable by users."""

from tfzoo.testing.harness import (
    assert_close,
    run_layer_test,
    run_model_test,
    tiny_inputs,
)

__all__ = ["assert_close", "run_layer_test", "run_model_test", "tiny_inputs"]
