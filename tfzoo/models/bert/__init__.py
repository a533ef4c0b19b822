from tfzoo.models.bert.bert_backbone import BertBackbone, mean_pool
from tfzoo.models.bert.bert_tasks import (
    BertClassifier,
    BertMaskedLM,
    BertSentenceEmbedding,
    BertTokenClassifier,
)

__all__ = [
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertSentenceEmbedding",
    "BertTokenClassifier",
    "mean_pool",
]
