"""Model families assembled from `tfzoo.layers`: backbones and task heads.

Each family is one folder (`bert/`, `gpt/`, `llama/` and Llama's relatives `mistral/`,
`qwen2/`, `qwen3/`, `phi3/`, `gemma/`, `gemma2/`, `gemma3/`, `gpt_neox/`, `seq2seq/`, `vit/`) that declares its
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
from tfzoo.models.gemma import GemmaBackbone
from tfzoo.models.gemma2 import Gemma2Backbone
from tfzoo.models.gemma3 import Gemma3Backbone
from tfzoo.models.gpt import GPTBackbone
from tfzoo.models.gpt_neox import GPTNeoXBackbone
from tfzoo.models.llama import LlamaBackbone
from tfzoo.models.lora import enable_lora, merge_lora
from tfzoo.models.mistral import MistralBackbone
from tfzoo.models.modernbert import (
    ModernBertBackbone,
    ModernBertClassifier,
    ModernBertMaskedLM,
    ModernBertQuestionAnswering,
    ModernBertTokenClassifier,
)
from tfzoo.models.phi3 import Phi3Backbone
from tfzoo.models.question_answering import QuestionAnswering
from tfzoo.models.qwen2 import Qwen2Backbone
from tfzoo.models.qwen3 import Qwen3Backbone
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
    "GPTNeoXBackbone",
    "Gemma2Backbone",
    "Gemma3Backbone",
    "GemmaBackbone",
    "LlamaBackbone",
    "MistralBackbone",
    "Phi3Backbone",
    "Qwen2Backbone",
    "Qwen3Backbone",
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
    "enable_lora",
    "merge_lora",
    "seq2seq_inputs",
]
