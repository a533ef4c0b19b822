"""Hugging Face Llama (`LlamaModel`, `LlamaForCausalLM`) <-> `tfzoo.models.LlamaBackbone`.

Both libraries apply RoPE in the "rotate half" layout (pairs `(x[i], x[i + d/2])`), so the query
and key projections move unpermuted. Projections are `nn.Linear` `(out, in)`. The LM head is
tied or separate (`tie_word_embeddings`); RoPE scaling `linear` or `llama3` (Llama 3.1/3.2).
SmolLM and TinyLlama checkpoints are Llama checkpoints.
"""

from tfzoo.models import decoder_hf

MODEL_TYPE = "llama"
PREFIX = "model."
ARCHITECTURES = {"LlamaModel": None, "LlamaForCausalLM": "causal_lm"}
# With tie_word_embeddings a stored lm_head must equal the embedding (untied: a real slot).
TIED = {"lm_head.weight": "{p}embed_tokens.weight"}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
LAYOUT = decoder_hf.Layout()


def backbone_kwargs(config):
    """`LlamaBackbone` arguments from a Hugging Face Llama `config.json` dict."""
    decoder_hf.check_activation(config, "hidden_act", "Llama", ("silu",))
    return decoder_hf.backbone_kwargs(config, "Llama")


def hf_config(model, architecture):
    """A Hugging Face `config.json` dict describing the tfzoo Llama `model`."""
    bias = decoder_hf.attention_bias(decoder_hf.backbone_of(model))
    return decoder_hf.hf_config(
        model, attention_bias=bias, mlp_bias=False, pretraining_tp=1, sliding_window=None
    )


def slots(model, prefix):
    """Slot table of `model` (a Llama backbone or `CausalLM`); `prefix` precedes backbone names."""
    return decoder_hf.slots(model, prefix, LAYOUT)
