"""Model families assembled from `tfzoo.layers`: backbones and task heads.

Each family is one folder (`bert/`, `gpt/`, `llama/`, `seq2seq/`, `vit/`) that declares its
backbone, tasks, presets and checkpoint converters as `FAMILY`; `tfzoo.zoo` reads them.
"""

from tfzoo.models.albert import AlbertBackbone
from tfzoo.models.backbone import Backbone
from tfzoo.models.bert import (
    BertBackbone,
    BertClassifier,
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.causal_lm import CausalLM
from tfzoo.models.deberta import DebertaBackbone, DebertaClassifier
from tfzoo.models.distilbert import DistilBertBackbone, DistilBertClassifier
from tfzoo.models.electra import ElectraBackbone, ElectraClassifier, ElectraDiscriminator
from tfzoo.models.family import Family
from tfzoo.models.gpt import GPTBackbone
from tfzoo.models.llama import LlamaBackbone
from tfzoo.models.modernbert import (
    ModernBertBackbone,
    ModernBertClassifier,
    ModernBertMaskedLM,
    ModernBertQuestionAnswering,
    ModernBertTokenClassifier,
)
from tfzoo.models.question_answering import QuestionAnswering
from tfzoo.models.roberta import RobertaBackbone, RobertaClassifier
from tfzoo.models.sentence_embedding import SentenceEmbedding
from tfzoo.models.seq2seq import Seq2SeqBackbone, Seq2SeqLM, seq2seq_inputs
from tfzoo.models.task import Task
from tfzoo.models.vit import ViTBackbone, ViTClassifier

__all__ = [
    "AlbertBackbone",
    "Backbone",
    "BertBackbone",
    "BertClassifier",
    "BertMaskedLM",
    "BertQuestionAnswering",
    "BertSentenceEmbedding",
    "BertTokenClassifier",
    "CausalLM",
    "DebertaBackbone",
    "DebertaClassifier",
    "DistilBertBackbone",
    "DistilBertClassifier",
    "ElectraBackbone",
    "ElectraClassifier",
    "ElectraDiscriminator",
    "Family",
    "GPTBackbone",
    "LlamaBackbone",
    "Seq2SeqBackbone",
    "Seq2SeqLM",
    "ModernBertBackbone",
    "ModernBertClassifier",
    "ModernBertMaskedLM",
    "ModernBertQuestionAnswering",
    "ModernBertTokenClassifier",
    "QuestionAnswering",
    "RobertaBackbone",
    "RobertaClassifier",
    "SentenceEmbedding",
    "Task",
    "ViTBackbone",
    "ViTClassifier",
    "seq2seq_inputs",
]
