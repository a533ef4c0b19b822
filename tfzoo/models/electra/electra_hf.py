"""Hugging Face ELECTRA <-> `tfzoo.models.ElectraBackbone`.

BERT's layout under the prefix `electra.`, plus `embeddings_project` when the embeddings are
narrower than the hidden states. Heads: `discriminator_predictions.*` (replaced-token
detection), `generator_predictions.*` + `generator_lm_head` (masked LM, tied),
`classifier.dense` + `classifier.out_proj` (classification), `classifier` (tokens),
`qa_outputs` (question answering).
"""

from tfzoo.models.bert import bert_hf
from tfzoo.models.bert.bert_tasks import BertMaskedLM, BertTokenClassifier
from tfzoo.models.electra.electra_tasks import ElectraClassifier, ElectraDiscriminator

MODEL_TYPE = "electra"
PREFIX = "electra."
ARCHITECTURES = {
    "ElectraModel": None,
    "ElectraForPreTraining": "replaced_token_detection",
    "ElectraForMaskedLM": "masked_lm",
    "ElectraForSequenceClassification": "classification",
    "ElectraForTokenClassification": "token_classification",
    "ElectraForQuestionAnswering": "question_answering",
}
TIED = {"generator_lm_head.weight": "{p}embeddings.word_embeddings.weight"}
IGNORED_SUFFIXES = ("position_ids",)
task_defaults = bert_hf.task_defaults


def backbone_kwargs(config):
    """`ElectraBackbone` arguments from an ELECTRA `config.json` dict."""
    kwargs = bert_hf.backbone_kwargs(config)
    kwargs["embedding_dim"] = config.get("embedding_size", config["hidden_size"])
    return kwargs


def hf_config(model, architecture):
    b = model.backbone if hasattr(model, "backbone") else model
    config = bert_hf.hf_config(model, architecture)
    config["embedding_size"] = b.embedding_dim
    return config


def extra_tensors(model, prefix):
    return bert_hf.extra_tensors(model, prefix)


def slots(model, prefix):
    """Slot table of an ELECTRA backbone or task; `prefix` precedes backbone names."""
    b = model.backbone if hasattr(model, "backbone") else model
    table = bert_hf.encoder_slots(b, prefix)
    if isinstance(model, BertMaskedLM):
        p = "generator_predictions."
        table += bert_hf.masked_lm_slots(
            model, f"{p}dense", f"{p}LayerNorm", "generator_lm_head.bias"
        )
    elif isinstance(model, ElectraDiscriminator):
        p = "discriminator_predictions."
        table += bert_hf.dense_slots(f"{p}dense", model.transform_dense)
        table += bert_hf.dense_slots(f"{p}dense_prediction", model.output_dense)
    elif isinstance(model, ElectraClassifier):
        table += bert_hf.dense_slots("classifier.dense", model.pre_dense)
        table += bert_hf.dense_slots("classifier.out_proj", model.output_dense)
    elif isinstance(model, BertTokenClassifier):
        table += bert_hf.dense_slots("classifier", model.output_dense)
    return table + bert_hf.head_slots(model)
