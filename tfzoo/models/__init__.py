"""Model families assembled from `tfzoo.layers`: backbones and task heads.

Each family is one folder (`bert/`, `gpt/`, `llama/`, `seq2seq/`, `vit/`) that declares its
backbone, tasks, presets and checkpoint converters as `FAMILY`; `tfzoo.zoo` reads them.
"""

from tfzoo.models.backbone import Backbone
from tfzoo.models.bert import (
    BertBackbone,
    BertClassifier,
    BertMaskedLM,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.family import Family
from tfzoo.models.gpt import GPTBackbone
from tfzoo.models.llama import LlamaBackbone
from tfzoo.models.lora import enable_lora, merge_lora
from tfzoo.models.seq2seq import Seq2SeqBackbone, Seq2SeqLM, seq2seq_inputs
from tfzoo.models.task import Task
from tfzoo.models.vit import ViTBackbone, ViTClassifier

__all__ = [
    "Backbone",
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertSentenceEmbedding",
    "BertTokenClassifier",
    "CausalLM",
    "Family",
    "GPTBackbone",
    "LlamaBackbone",
    "Seq2SeqBackbone",
    "Seq2SeqLM",
    "Task",
    "ViTBackbone",
    "ViTClassifier",
    "enable_lora",
    "merge_lora",
    "seq2seq_inputs",
]
