"""Helpers for tfzoo.convert tests: tiny random `transformers` models saved to tmp dirs."""

import numpy as np
import torch  # noqa: E402  (test extra: a missing reference must fail, not skip)
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)

VOCAB = 150
HIDDEN = 32
MAX_LEN = 48


# The sizes BERT and Llama name alike in `transformers` (GPT-2 has its own `n_*` names).
SIZES = dict(
    vocab_size=VOCAB,
    hidden_size=HIDDEN,
    num_hidden_layers=2,
    intermediate_size=64,
    max_position_embeddings=MAX_LEN,
)
# Llama and GPT-2 checkpoints here have no special token ids.
NO_SPECIAL_TOKENS = dict(bos_token_id=None, eos_token_id=None)


def bert_config(**overrides):
    args = dict(SIZES, num_attention_heads=2, type_vocab_size=2)
    return transformers.BertConfig(**{**args, **overrides})


def gpt2_config(**overrides):
    args = dict(NO_SPECIAL_TOKENS, vocab_size=VOCAB, n_embd=HIDDEN, n_layer=2, n_head=2)
    return transformers.GPT2Config(**{**args, "n_positions": MAX_LEN, **overrides})


def llama_config(**overrides):
    args = dict(SIZES, **NO_SPECIAL_TOKENS, num_attention_heads=4, num_key_value_heads=2)
    return transformers.LlamaConfig(
        **{**args, "rms_norm_eps": 1e-6, "pad_token_id": None, **overrides}
    )


def save_hf(model_cls, config, path, seed=0, **save_kwargs):
    """Builds a random `transformers` model, perturbs its norms/biases and saves it."""
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    with torch.no_grad():
        # Fresh models have unit norms and zero biases: randomise them so a mapping that swaps
        # or drops a norm or a bias cannot pass unnoticed.
        for param in model.parameters():
            if param.ndim == 1:
                param.add_(0.1 * torch.randn_like(param))
    model.save_pretrained(path, **save_kwargs)
    return model


def batch(seed=0, batch_size=3, seq=12, vocab=VOCAB, segments=True):
    """Token ids with right padding (rows 1 and 2 shorter) and two segments."""
    rng = np.random.RandomState(seed)
    ids = rng.randint(1, vocab, (batch_size, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, seq - 4 :] = 0
    mask[2, 5:] = 0
    ids = ids * mask
    inputs = {"token_ids": ids, "padding_mask": mask}
    if segments:
        seg = np.zeros_like(ids)
        seg[:, seq // 2 :] = 1
        inputs["segment_ids"] = seg * mask
    return inputs


def hf_inputs(inputs):
    out = {
        "input_ids": torch.tensor(inputs["token_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(inputs["padding_mask"], dtype=torch.long),
    }
    if "segment_ids" in inputs:
        out["token_type_ids"] = torch.tensor(inputs["segment_ids"], dtype=torch.long)
    return out


def max_diff_valid(a, b, mask):
    """Max |a - b| over unpadded positions (`a`, `b`: `(batch, seq, ...)`)."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b)[np.asarray(mask).astype(bool)].max())
