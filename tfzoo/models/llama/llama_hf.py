"""Hugging Face Llama (`LlamaModel`, `LlamaForCausalLM`) <-> `tfzoo.models.LlamaBackbone`.

Both libraries apply RoPE in the "rotate half" layout (pairs `(x[i], x[i + d/2])`), so the query
and key projections move unpermuted. Projections are `nn.Linear` `(out, in)`. The LM head is
tied or separate (`tie_word_embeddings`); RoPE scaling `linear` or `llama3` (Llama 3.1/3.2).
SmolLM and TinyLlama checkpoints are Llama checkpoints. The converter is `CONVERTER`, made by
`tfzoo.models.decoder_hf.converter` like those of Llama's relatives.
"""

from tfzoo.models import decoder_hf


def _config(b):
    bias = decoder_hf.attention_bias(b)
    return dict(attention_bias=bias, mlp_bias=False, pretraining_tp=1, sliding_window=None)


CONVERTER = decoder_hf.converter("llama", "Llama", config_extra=_config)
