"""DeBERTa-v2 / v3: `DebertaBackbone` (disentangled attention), tasks, presets, converter."""

from tfzoo.models.bert.bert_tasks import (
    BertMaskedLM,
    BertQuestionAnswering,
    BertSentenceEmbedding,
    BertTokenClassifier,
)
from tfzoo.models.deberta import deberta_hf
from tfzoo.models.deberta.deberta_backbone import DebertaBackbone
from tfzoo.models.deberta.deberta_presets import DEBERTA_PRESETS
from tfzoo.models.deberta.deberta_tasks import DebertaClassifier
from tfzoo.models.family import Family

FAMILY = Family(
    name="deberta",
    backbone=DebertaBackbone,
    tasks={
        "classification": DebertaClassifier,
        "token_classification": BertTokenClassifier,
        "masked_lm": BertMaskedLM,
        "sentence_embedding": BertSentenceEmbedding,
        "question_answering": BertQuestionAnswering,
    },
    presets=DEBERTA_PRESETS,
    converters={"hugging_face": deberta_hf},
)

__all__ = ["DEBERTA_PRESETS", "FAMILY", "DebertaBackbone", "DebertaClassifier"]
