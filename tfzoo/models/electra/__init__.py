"""ELECTRA: `ElectraBackbone`, its discriminator and generator tasks, presets and converter."""

from tfzoo.models.bert.bert_tasks import (
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.electra import electra_hf
from tfzoo.models.electra.electra_backbone import ElectraBackbone
from tfzoo.models.electra.electra_presets import ELECTRA_PRESETS
from tfzoo.models.electra.electra_tasks import ElectraClassifier, ElectraDiscriminator
from tfzoo.models.family import Family

FAMILY = Family(
    name="electra",
    backbone=ElectraBackbone,
    tasks={
        "replaced_token_detection": ElectraDiscriminator,
        "classification": ElectraClassifier,
        "token_classification": BertTokenClassifier,
        "masked_lm": BertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": BertQuestionAnswering,
    },
    presets=ELECTRA_PRESETS,
    converters={"hugging_face": electra_hf},
)

__all__ = [
    "ELECTRA_PRESETS",
    "FAMILY",
    "ElectraBackbone",
    "ElectraClassifier",
    "ElectraDiscriminator",
]
