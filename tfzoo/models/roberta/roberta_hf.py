"""Hugging Face RoBERTa and XLM-RoBERTa <-> `tfzoo.models.RobertaBackbone`.

The encoder is BERT's layout under the prefix `roberta.`; the position table has
`max_sequence_length + pad_token_id + 1` rows. Heads: `lm_head.*` (masked LM, decoder tied to
the word embeddings), `classifier.dense` + `classifier.out_proj` (classification), `classifier`
(tokens), `qa_outputs` (question answering).
"""

from tfzoo.models import slots as S
from tfzoo.models.bert import bert_hf

MODEL_TYPE = "roberta"
MODEL_TYPES = ("roberta", "xlm-roberta")
PREFIX = "roberta."
ARCHITECTURES = {**bert_hf.architectures("Roberta"), **bert_hf.architectures("XLMRoberta")}
TIED = bert_hf.tied_decoder("lm_head.")
IGNORED_SUFFIXES = ("position_ids",)
# Head models have no pooler (Hugging Face builds them with `add_pooling_layer=False`).
NOT_SAVED = {a: ("pooler.",) for a, task in ARCHITECTURES.items() if task is not None}
LAYOUT = bert_hf.EncoderLayout(masked_lm=("lm_head.dense", "lm_head.layer_norm", "lm_head.bias"))
slots = LAYOUT.slots
task_defaults = bert_hf.task_defaults
unused_weights = bert_hf.unused_weights
extra_tensors = bert_hf.extra_tensors


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


def hf_config(model, architecture):
    b = S.backbone_of(model)
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
