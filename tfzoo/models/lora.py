"""LoRA adapters on the projections of tfzoo's Transformer blocks, and merging them back.

`enable_lora(model, rank, alpha, targets)` adds a low-rank update `(alpha / rank) * A @ B` to
each targeted projection (Keras' own `enable_lora` of `Dense` / `EinsumDense`) and freezes
every other weight, so `fit` trains only the adapters. `merge_lora(model)` returns a plain
model (same class and config, no adapters) whose kernels are `W + (alpha / rank) * A @ B`: the
model to export. Saving the adapted model as `.keras` stores the merged kernels too (Keras
writes a LoRA layer's kernel merged), so the file loads as a plain model.
"""

import numpy as np

from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.multi_head_attention import MultiHeadAttention

# target name -> (block layer class, attribute of its projection)
TARGETS = {
    "q": (MultiHeadAttention, "query_dense"),
    "k": (MultiHeadAttention, "key_dense"),
    "v": (MultiHeadAttention, "value_dense"),
    "o": (MultiHeadAttention, "output_dense"),
    "gate": (FeedForward, "gate_dense"),
    "up": (FeedForward, "intermediate_dense"),
    "down": (FeedForward, "output_dense"),
}
DEFAULT_TARGETS = ("q", "v")
LORA_THRESHOLD = 100_000_000  # parameters above which training fine-tunes with LoRA by default


def _target_layers(model, targets):
    layers = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        for target in targets:
            kind, attribute = TARGETS[target]
            if isinstance(layer, kind) and getattr(layer, attribute, None) is not None:
                layers.append(getattr(layer, attribute))
    return layers


def _check(rank, alpha, targets):
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(f"LoRA `rank` must be an int >= 1. Received: rank={rank!r}")
    if alpha is not None and (isinstance(alpha, bool) or not np.isfinite(alpha) or alpha <= 0):
        raise ValueError(f"LoRA `alpha` must be a number > 0. Received: alpha={alpha!r}")
    if isinstance(targets, str):
        targets = (targets,) if targets != "all" else tuple(TARGETS)
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise ValueError(
            f"Unknown LoRA targets {unknown or list(targets)}. Supported: {list(TARGETS)} "
            f"(or 'all')."
        )
    return tuple(dict.fromkeys(targets))


def enable_lora(model, rank=8, alpha=None, targets=DEFAULT_TARGETS):
    """Adds LoRA adapters to `model`'s projections and freezes every other weight.

    Args:
        model: a built tfzoo model (e.g. a `CausalLM`); changed in place.
        rank: int >= 1. Rank of each update `A @ B`. Defaults to `8`.
        alpha: float > 0 or `None`. The update is scaled by `alpha / rank`. Defaults to `rank`
            (scale 1).
        targets: sequence of `"q"`, `"k"`, `"v"`, `"o"` (attention projections), `"gate"`,
            `"up"`, `"down"` (feed-forward), or `"all"`. Defaults to `("q", "v")`.

    Returns:
        int. The number of trainable parameters (the adapters).

    Raises:
        ValueError: a bad rank, alpha or target, a model without such projections, or one
            that already has adapters.

    Example:

    >>> lm = tfzoo.build("llama-tiny", task="causal_lm")
    >>> trainable = tfzoo.models.enable_lora(lm, rank=4, targets=("q", "v"))
    >>> merged = tfzoo.models.merge_lora(lm)   # a plain model to export
    """
    targets = _check(rank, alpha, targets)
    layers = _target_layers(model, targets)
    if not layers:
        raise ValueError(
            f"{type(model).__name__} has no {list(targets)} projections to adapt (LoRA targets "
            "tfzoo's MultiHeadAttention and FeedForward layers)."
        )
    if any(layer.lora_enabled for layer in layers):
        raise ValueError("The model already has LoRA adapters; merge them first (merge_lora).")
    for layer in layers:
        layer.enable_lora(int(rank), lora_alpha=None if alpha is None else float(alpha))
    for variable in model.trainable_variables:
        if not variable.path.endswith(("lora_kernel_a", "lora_kernel_b")):
            variable.trainable = False
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def merge_lora(model):
    """A copy of `model` without adapters, each kernel `W + (alpha / rank) * A @ B`.

    Args:
        model: a model given adapters by `enable_lora`.

    Returns:
        A new model of the same class and config, every weight trainable, ready for
        `tfzoo.export` or `save_pretrained`.
    """
    merged = type(model).from_config(model.get_config())
    old = list(model._flatten_layers(include_self=False, recursive=True))
    new = list(merged._flatten_layers(include_self=False, recursive=True))
    if [type(a) for a in old] != [type(b) for b in new]:
        raise ValueError(f"{type(model).__name__} does not rebuild from its config; cannot merge.")
    for source, target in zip(old, new):
        store = {}
        source.save_own_variables(store)  # a LoRA layer writes its kernel merged
        target.load_own_variables(store)
    return merged
