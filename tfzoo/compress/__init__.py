"""Compression: pruning (magnitude, structured, layers), QAT, distillation students, recipes."""

from tfzoo.compress.fake_quant import ActivationQuantizer, fake_quant_weights
from tfzoo.compress.layer_drop import drop_layers, layer_importance
from tfzoo.compress.oplist import check_integer_only, float_ops, op_dtypes
from tfzoo.compress.pruning import (
    PrunedModel,
    PruningState,
    UpdatePruningStep,
    magnitude_mask,
    prunable_layers,
    prune_low_magnitude,
    sparsity_report,
    strip_pruning,
)
from tfzoo.compress.qat import (
    QATModel,
    QuantizedDense,
    QuantizedEinsumDense,
    QuantizedMultiHeadAttention,
    QuantizedReversibleEmbedding,
    prepare_qat,
)
from tfzoo.compress.recipe import RecipeResult, measure_export, parse_recipe, recipe
from tfzoo.compress.schedules import (
    ConstantSparsity,
    PolynomialDecay,
    PruningSchedule,
    schedule_from_config,
)
from tfzoo.compress.structured import prune_structured
from tfzoo.compress.student import MeanPooledClassifier, first_layers_student

__all__ = [
    "ActivationQuantizer",
    "MeanPooledClassifier",
    "RecipeResult",
    "check_integer_only",
    "drop_layers",
    "first_layers_student",
    "float_ops",
    "layer_importance",
    "measure_export",
    "op_dtypes",
    "parse_recipe",
    "recipe",
    "QATModel",
    "QuantizedDense",
    "QuantizedEinsumDense",
    "QuantizedMultiHeadAttention",
    "QuantizedReversibleEmbedding",
    "fake_quant_weights",
    "prepare_qat",
    "ConstantSparsity",
    "PolynomialDecay",
    "PrunedModel",
    "PruningSchedule",
    "PruningState",
    "UpdatePruningStep",
    "magnitude_mask",
    "prunable_layers",
    "prune_low_magnitude",
    "prune_structured",
    "schedule_from_config",
    "sparsity_report",
    "strip_pruning",
]
