"""Hugging Face DistilBERT <-> `tfzoo.models.DistilBertBackbone`.

BERT's layout under other names (`q_lin`, `sa_layer_norm`, `ffn.lin1`, ...) and the prefix
`distilbert.`; no segment embeddings, no pooler. Heads: `vocab_transform` + `vocab_layer_norm`
+ `vocab_projector` (masked LM, tied), `pre_classifier` + `classifier` (classification),
`classifier` (tokens), `qa_outputs` (question answering).
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf

MODEL_TYPE = "distilbert"
PREFIX = "distilbert."
ARCHITECTURES = bert_hf.architectures("DistilBert")
TIED = {"vocab_projector.weight": "{p}embeddings.word_embeddings.weight"}
IGNORED_SUFFIXES = ("position_ids",)
# DistilBERT's config.json names for `bert_hf.CONFIG_KEYS`, in its order.
_NAMES = ("vocab_size", "dim", "n_layers", "n_heads", "hidden_dim", "dropout", "attention_dropout")
_KEYS = dict(zip((*_NAMES, "max_position_embeddings"), bert_hf.CONFIG_KEYS.values(), strict=True))
LAYOUT = bert_hf.EncoderLayout(
    layer="transformer.layer",
    attention=tuple(f"attention.{x}_lin" for x in ("q", "k", "v", "out")),
    ffn=("ffn.lin1", "ffn.lin2"),
    norms=("sa_layer_norm", "output_layer_norm"),
    pooler=None,
    masked_lm=("vocab_transform", "vocab_layer_norm", "vocab_projector.bias"),
    classifier=("pre_classifier", "classifier"),
)
slots = LAYOUT.slots


def backbone_kwargs(config):
    """`DistilBertBackbone` arguments from a DistilBERT `config.json` dict."""
    return dict(
        **bert_hf.arguments_from(
            config, _KEYS, dropout=0.1, attention_dropout=0.1, max_sequence_length=512
        ),
        activation=S.activation_from(config, "activation", "gelu", "DistilBERT"),
    )


def task_defaults(config, task):
    if task not in ("classification", "token_classification"):
        return {}
    key, default = ("seq_classif_dropout", 0.2) if task == "classification" else ("dropout", 0.1)
    return {"num_classes": bert_hf.num_labels(config), "dropout": config.get(key, default)}


def hf_config(model, architecture):
    b = S.backbone_of(model)
    config = {
        **bert_hf.config_of(b, _KEYS),
        "activation": S.activation_of(b, "DistilBERT"),
        "sinusoidal_pos_embds": False,
        "pad_token_id": 0,
        "tie_word_embeddings": True,
    }
    if hasattr(model, "num_classes"):
        config.update(bert_hf.label_config(model.num_classes))
    return config
