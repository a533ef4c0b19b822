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

# Imported last: these packages register their families and presets with `tfzoo.zoo`.
from tfzoo.models.seq2seq import Seq2SeqBackbone, Seq2SeqLM, seq2seq_inputs  # noqa: E402
from tfzoo.models.task import Task
from tfzoo.models.vit import ViTBackbone, ViTClassifier  # noqa: E402

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
    "Seq2SeqBackbone",
    "Seq2SeqLM",
    "Task",
    "ViTBackbone",
    "ViTClassifier",
    "seq2seq_inputs",
]
