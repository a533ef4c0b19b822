"""BERT: `BertBackbone`, its four task models, the `bert-*` presets and the Hugging Face converter."""

from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_backbone import BertBackbone
from tfzoo.models.bert.bert_presets import BERT_PRESETS
from tfzoo.models.bert.bert_tasks import (
    BertClassifier,
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.family import encoder_family
from tfzoo.models.pooling import mean_pool

FAMILY = encoder_family("bert", BertBackbone, BERT_PRESETS, bert_hf)

__all__ = [
    "BERT_PRESETS",
    "FAMILY",
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertQuestionAnswering",
    "BertSentenceEmbedding",
    "BertTokenClassifier",
    "mean_pool",
]
