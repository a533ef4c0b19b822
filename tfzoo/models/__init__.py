"""Model families assembled from `tfzoo.layers`: backbones and task heads."""

from tfzoo.models.backbone import Backbone
from tfzoo.models.bert import (
    BertBackbone,
    BertClassifier,
    BertMaskedLM,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.gpt import GPTBackbone
from tfzoo.models.llama import LlamaBackbone
from tfzoo.models.task import Task

__all__ = [
    "Backbone",
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertSentenceEmbedding",
    "BertTokenClassifier",
    "CausalLM",
    "GPTBackbone",
    "LlamaBackbone",
    "Task",
]
