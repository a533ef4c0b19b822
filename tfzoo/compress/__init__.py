"""Compression: magnitude pruning, structured pruning and quantization-aware training."""

from tfzoo.compress.fake_quant import ActivationQuantizer, fake_quant_weights
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
from tfzoo.compress.schedules import (
    ConstantSparsity,
    PolynomialDecay,
    PruningSchedule,
    schedule_from_config,
)
from tfzoo.compress.structured import prune_structured

__all__ = [
    "ActivationQuantizer",
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
