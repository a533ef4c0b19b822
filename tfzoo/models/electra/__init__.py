"""ELECTRA: `ElectraBackbone`, its discriminator and generator tasks, presets and converter."""

from tfzoo.models.electra import electra_hf
from tfzoo.models.electra.electra_backbone import ElectraBackbone
from tfzoo.models.electra.electra_presets import ELECTRA_PRESETS
from tfzoo.models.electra.electra_tasks import ElectraClassifier, ElectraDiscriminator
from tfzoo.models.family import encoder_family

FAMILY = encoder_family(
    "electra",
    ElectraBackbone,
    ELECTRA_PRESETS,
    electra_hf,
    classification=ElectraClassifier,
    replaced_token_detection=ElectraDiscriminator,
)

__all__ = [
    "ELECTRA_PRESETS",
    "FAMILY",
    "ElectraBackbone",
    "ElectraClassifier",
    "ElectraDiscriminator",
]
