"""Attention visualisation: per-layer, per-head attention maps of a sentence, rendered to PNG."""

import os

import numpy as np
from keras import ops

from tfzoo.models.bert import BertBackbone


def attention_scores(model, inputs):
    """Attention probabilities of every layer of a tfzoo BERT, GPT or Llama model.

    Args:
        model: a tfzoo backbone or task model.
        inputs: dict of `token_ids`, `padding_mask` (and `segment_ids` for BERT), batch of 1+.

    Returns:
        A NumPy array `(num_layers, batch, num_heads, seq, seq)`; each row sums to 1 over keys.

    Example:

    >>> scores = tfzoo.viz.attention_scores(model, tokenizer(["A fine film."]))
    """
    backbone = getattr(model, "backbone", model)
    backbone._check_inputs(inputs)
    mask = inputs["padding_mask"]
    if isinstance(backbone, BertBackbone):
        x = backbone.embeddings(inputs["token_ids"], segment_ids=inputs["segment_ids"])
        x = backbone.embeddings_norm(x)
    else:
        x = backbone.embeddings(inputs["token_ids"])
    scores = []
    for layer in backbone.transformer_layers:
        x, probs = layer(x, padding_mask=mask, return_attention_scores=True)
        scores.append(ops.convert_to_numpy(ops.cast(probs, "float32")))
    return np.stack(scores)


def plot_attention(scores, tokens, path, layers=None, heads=None, title=None):
    """Draws a grid of attention maps (rows: layers, columns: heads) and saves it as PNG.

    Args:
        scores: array `(num_layers, num_heads, seq, seq)` for one sentence (from
            `attention_scores(...)[:, 0]`).
        tokens: list of token strings, one per position (padding removed).
        path: string. Where to write the PNG (parent directories are created).
        layers: list of layer indices to draw. Defaults to all.
        heads: list of head indices to draw. Defaults to all.
        title: string. Figure title.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(tokens)
    layers = list(range(scores.shape[0])) if layers is None else list(layers)
    heads = list(range(scores.shape[1])) if heads is None else list(heads)
    for i in layers:
        if not 0 <= i < scores.shape[0]:
            raise ValueError(f"Layer {i} does not exist; the model has {scores.shape[0]} layers.")
    for h in heads:
        if not 0 <= h < scores.shape[1]:
            raise ValueError(f"Head {h} does not exist; the model has {scores.shape[1]} heads.")
    cell = max(1.6, 0.28 * n)
    fig, axes = plt.subplots(
        len(layers), len(heads), figsize=(cell * len(heads), cell * len(layers)), squeeze=False
    )
    for r, i in enumerate(layers):
        for c, h in enumerate(heads):
            ax = axes[r][c]
            ax.imshow(scores[i, h, :n, :n], cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_xticks(range(n))
            ax.set_yticks(range(n))
            show = n <= 24
            ax.set_xticklabels(
                tokens if show and r == len(layers) - 1 else [], rotation=90, fontsize=6
            )
            ax.set_yticklabels(tokens if show and c == 0 else [], fontsize=6)
            ax.set_title(f"layer {i} head {h}", fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
