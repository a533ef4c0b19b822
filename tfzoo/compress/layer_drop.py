"""Layer dropping: keep `k` of a model's `n` Transformer blocks, chosen by importance.

A block whose output is nearly its input (the residual stream passes it unchanged) can leave
with the least harm. Its importance is `1 - cos(x_in, x_out)` averaged over the real tokens of
a few batches (the "block influence" of ShortGPT, Men et al., 2024). The result is a new model
of the same class with `num_layers = k` and the kept blocks' weights, in their order.
"""

import keras
import numpy as np
from keras import ops

from tfzoo.compress.structured import check_prunable


def _blocks(backbone):
    blocks = backbone.transformer_layers
    if len(blocks) != backbone.num_layers:
        raise ValueError(
            f"drop_layers: {type(backbone).__name__} shares one block across its "
            f"{backbone.num_layers} layers (share_layers=True); there is no block to drop."
        )
    return blocks


def layer_importance(model, data, num_batches=4):
    """Per block: mean over real tokens of `1 - cos(block input, block output)`.

    Args:
        model: a tfzoo backbone or task model.
        data: a `tf.data.Dataset` or iterable of input dicts, or `(inputs, labels)` batches.
        num_batches: int. Batches of `data` to average over. Defaults to `4`.

    Returns:
        NumPy array `(num_layers,)`; larger means the block changes its input more.
    """
    backbone = check_prunable(model, "drop_layers")
    blocks = _blocks(backbone)
    # `block.input` is `[hidden, padding_mask]`: the hidden state the block receives.
    probe = keras.Model(
        backbone.input, [b.input[0] for b in blocks] + [blocks[-1].output], name="block_states"
    )
    totals, count = np.zeros(len(blocks)), 0.0
    for n, batch in enumerate(data):
        if n >= num_batches:
            break
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        states = probe(x, training=False)
        mask = ops.cast(x["padding_mask"], "float32")  # (b, s)
        for i in range(len(blocks)):
            a, b = ops.cast(states[i], "float32"), ops.cast(states[i + 1], "float32")
            cos = ops.sum(a * b, -1) / ops.maximum(
                ops.norm(a, axis=-1) * ops.norm(b, axis=-1), 1e-9
            )
            totals[i] += float(ops.convert_to_numpy(ops.sum((1.0 - cos) * mask)))
        count += float(ops.convert_to_numpy(ops.sum(mask)))
    if count == 0:
        raise ValueError("layer_importance: `data` yielded no batches with real tokens.")
    return totals / count


def drop_layers(model, keep, data=None, layers=None, num_batches=4):
    """A copy of `model` with `keep` of its Transformer blocks: the most important ones.

    Args:
        model: a tfzoo BERT, GPT or Llama backbone or task model (not under pruning or QAT).
        keep: int, `1 <= keep < num_layers`. Blocks to keep.
        data: batches for `layer_importance` (inputs, or `(inputs, labels)`); needed unless
            `layers` is given.
        layers: list of block indices to keep (overrides the importance), or `None`.
        num_batches: int. Batches of `data` to score on. Defaults to `4`.

    Returns:
        `(smaller_model, kept_indices)`; the kept blocks keep their original order and weights.

    Example:

    >>> small, kept = tfzoo.compress.drop_layers(model, keep=4, data=train_ds)
    """
    backbone = check_prunable(model, "drop_layers")
    n = len(_blocks(backbone))
    if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or not 1 <= keep < n:
        raise ValueError(
            f"drop_layers: keep={keep!r}, but the model has {n} layers; keep must be 1..{n - 1}."
        )
    if layers is None:
        if data is None:
            raise ValueError(
                "drop_layers needs `data` (a few batches to score the blocks on) or an explicit "
                "`layers=[...]` list of blocks to keep."
            )
        scores = layer_importance(model, data, num_batches)
        layers = np.argsort(-scores, kind="stable")[:keep]
    kept = sorted(int(i) for i in layers)
    if len(kept) != keep or len(set(kept)) != keep or not all(0 <= i < n for i in kept):
        raise ValueError(
            f"drop_layers: layers={list(layers)} must be {keep} distinct indices in 0..{n - 1}."
        )
    serialized = keras.saving.serialize_keras_object(model)
    config = serialized["config"]
    backbone_config = config["backbone"]["config"] if model is not backbone else config
    backbone_config["num_layers"] = keep
    smaller = keras.saving.deserialize_keras_object(serialized)
    new_backbone = getattr(smaller, "backbone", smaller)
    old_blocks, new_blocks = backbone.transformer_layers, new_backbone.transformer_layers
    in_blocks = {id(v) for b in old_blocks for v in b.weights}
    in_new_blocks = {id(v) for b in new_blocks for v in b.weights}
    rest_old = [v for v in model.weights if id(v) not in in_blocks]
    rest_new = [v for v in smaller.weights if id(v) not in in_new_blocks]
    if [v.path for v in rest_old] != [v.path for v in rest_new]:
        raise RuntimeError("drop_layers: the smaller model's variables do not line up.")
    for old, new in zip(rest_old, rest_new):
        new.assign(old)
    for j, i in enumerate(kept):
        new_blocks[j].set_weights(old_blocks[i].get_weights())
    return smaller, kept
