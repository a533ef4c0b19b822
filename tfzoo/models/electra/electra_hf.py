"""Hugging Face ELECTRA <-> `tfzoo.models.ElectraBackbone`.

BERT's layout under the prefix `electra.`, plus `embeddings_project` when the embeddings are
narrower than the hidden states. Heads: `discriminator_predictions.*` (replaced-token
detection), `generator_predictions.*` + `generator_lm_head` (masked LM, tied),
`classifier.dense` + `classifier.out_proj` (classification), `classifier` (tokens),
`qa_outputs` (question answering).
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf
from tfzoo.models.electra.electra_tasks import ElectraDiscriminator

MODEL_TYPE = "electra"
PREFIX = "electra."
ARCHITECTURES = {
    **bert_hf.architectures("Electra"),
    "ElectraForPreTraining": "replaced_token_detection",
}
TIED = {"generator_lm_head.weight": "{p}embeddings.word_embeddings.weight"}
IGNORED_SUFFIXES = ("position_ids",)
LAYOUT = bert_hf.EncoderLayout(
    pooler=None,
    masked_lm=(
        "generator_predictions.dense",
        "generator_predictions.LayerNorm",
        "generator_lm_head.bias",
    ),
)
task_defaults = bert_hf.task_defaults
extra_tensors = bert_hf.extra_tensors


def backbone_kwargs(config):
    """`ElectraBackbone` arguments from an ELECTRA `config.json` dict."""
    kwargs = bert_hf.backbone_kwargs(config)
    kwargs["embedding_dim"] = config.get("embedding_size", config["hidden_size"])
    return kwargs


def hf_config(model, architecture):
    config = bert_hf.hf_config(model, architecture)
    config["embedding_size"] = S.backbone_of(model).embedding_dim
    return config


def slots(model, prefix):
    """Slot table of an ELECTRA backbone or task; `prefix` precedes backbone names."""
    if not isinstance(model, ElectraDiscriminator):
        return LAYOUT.slots(model, prefix)
    p = "discriminator_predictions."
    return [
        *LAYOUT.encoder_slots(model.backbone, prefix),
        *bert_hf.dense_slots(f"{p}dense", model.transform_dense),
        *bert_hf.dense_slots(f"{p}dense_prediction", model.output_dense),
    ]
