"""RoBERTa and XLM-RoBERTa: `RobertaBackbone`, its tasks, presets and Hugging Face converter."""

from tfzoo.models.bert.bert_tasks import (
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.family import Family
from tfzoo.models.roberta import roberta_hf
from tfzoo.models.roberta.roberta_backbone import RobertaBackbone
from tfzoo.models.roberta.roberta_presets import ROBERTA_PRESETS
from tfzoo.models.roberta.roberta_tasks import RobertaClassifier

FAMILY = Family(
    name="roberta",
    backbone=RobertaBackbone,
    tasks={
        "classification": RobertaClassifier,
        "token_classification": BertTokenClassifier,
        "masked_lm": BertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": BertQuestionAnswering,
    },
    presets=ROBERTA_PRESETS,
    converters={"hugging_face": roberta_hf},
)

__all__ = ["FAMILY", "ROBERTA_PRESETS", "RobertaBackbone", "RobertaClassifier"]
