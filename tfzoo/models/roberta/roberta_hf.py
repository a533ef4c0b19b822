"""Hugging Face RoBERTa and XLM-RoBERTa <-> `tfzoo.models.RobertaBackbone`.

The encoder is BERT's layout under the prefix `roberta.` (`bert_hf.encoder_slots`); the
position table has `max_sequence_length + pad_token_id + 1` rows. Heads: `lm_head.*` (masked
LM, decoder tied to the word embeddings), `classifier.dense` + `classifier.out_proj`
(classification), `classifier` (tokens), `qa_outputs` (question answering).
"""

from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_tasks import BertMaskedLM, BertTokenClassifier
from tfzoo.models.roberta.roberta_tasks import RobertaClassifier

MODEL_TYPE = "roberta"
MODEL_TYPES = ("roberta", "xlm-roberta")
PREFIX = "roberta."
ARCHITECTURES = {
    "RobertaModel": None,
    "RobertaForMaskedLM": "masked_lm",
    "RobertaForSequenceClassification": "classification",
    "RobertaForTokenClassification": "token_classification",
    "RobertaForQuestionAnswering": "question_answering",
    "XLMRobertaModel": None,
    "XLMRobertaForMaskedLM": "masked_lm",
    "XLMRobertaForSequenceClassification": "classification",
    "XLMRobertaForTokenClassification": "token_classification",
    "XLMRobertaForQuestionAnswering": "question_answering",
}
TIED = {
    "lm_head.decoder.weight": "{p}embeddings.word_embeddings.weight",
    "lm_head.decoder.bias": "lm_head.bias",
}
IGNORED_SUFFIXES = ("position_ids",)
# Head models have no pooler (Hugging Face builds them with `add_pooling_layer=False`).
NOT_SAVED = {a: ("pooler.",) for a, task in ARCHITECTURES.items() if task is not None}


def backbone_kwargs(config):
    """`RobertaBackbone` arguments from a RoBERTa / XLM-R `config.json` dict."""
    kwargs = bert_hf.backbone_kwargs(config)
    offset = config.get("pad_token_id", 1) + 1
    kwargs.update(
        max_sequence_length=config.get("max_position_embeddings", 514) - offset,
        position_offset=offset,
        num_segments=config.get("type_vocab_size", 1),
        layer_norm_epsilon=config.get("layer_norm_eps", 1e-5),
    )
    return kwargs


task_defaults = bert_hf.task_defaults
unused_weights = bert_hf.unused_weights


def hf_config(model, architecture):
    b = model.backbone if hasattr(model, "backbone") else model
    config = bert_hf.hf_config(model, architecture)
    config.update(
        max_position_embeddings=b.max_sequence_length + b.position_offset,
        pad_token_id=b.position_offset - 1,
        bos_token_id=0,
        eos_token_id=2,
    )
    if architecture.startswith("XLMRoberta"):
        config["model_type"] = "xlm-roberta"
    return config


def extra_tensors(model, prefix):
    return bert_hf.extra_tensors(model, prefix)


def slots(model, prefix):
    """Slot table of a RoBERTa backbone or task; `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    table = bert_hf.encoder_slots(b, prefix)
    table += bert_hf.dense_slots(f"{prefix}pooler.dense", b.pooler)
    if isinstance(model, BertMaskedLM):
        table += bert_hf.masked_lm_slots(
            model, "lm_head.dense", "lm_head.layer_norm", "lm_head.bias"
        )
    elif isinstance(model, RobertaClassifier):
        table += bert_hf.dense_slots("classifier.dense", model.pre_dense)
        table += bert_hf.dense_slots("classifier.out_proj", model.output_dense)
    elif isinstance(model, BertTokenClassifier):
        table += bert_hf.dense_slots("classifier", model.output_dense)
    return table + bert_hf.head_slots(model)
