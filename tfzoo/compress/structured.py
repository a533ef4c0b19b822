"""Structured pruning: remove whole attention heads and feed-forward neurons.

Unlike magnitude pruning (zeros in dense kernels, which only pay with sparse kernels or
compression), this returns a physically smaller model of the same class, which is faster
everywhere (Keras, SavedModel, TFLite, ONNX) with no special runtime.

Every Transformer block keeps the same number of heads and neurons (the least important ones
are chosen per block). Uniform counts keep the backbone's flat config (`num_heads`,
`intermediate_dim`, plus `head_dim` so heads keep their width) and keep the key/value cache of
`tfzoo.models.CausalLM` a single tensor `(batch, layers, 2, len, kv_heads, head_dim)`, which the
TFLite and ONNX decoding graphs need.
"""

import keras
import numpy as np
from keras import ops

IMPORTANCES = ("magnitude", "taylor")


def check_not_qat(model, what):
    """One-line error for pruning a quantization-aware model (its layers are fake-quantized)."""
    if type(model).__name__ == "QATModel" or type(getattr(model, "model", None)).__name__ == (
        "QATModel"
    ):
        raise ValueError(
            f"{what} cannot prune a quantization-aware model (QATModel): prune the float model "
            "first, then call tfzoo.compress.prepare_qat on the pruned model."
        )


def check_prunable(model, what="prune_structured"):
    """The backbone of a tfzoo model that structured pruning / layer dropping can shrink."""
    check_not_qat(model, what)
    backbone = getattr(model, "backbone", model)
    if getattr(model, "_tfzoo_pruned", False) or type(model).__name__ == "PrunedModel":
        raise ValueError(
            "This model is under magnitude pruning; call tfzoo.compress.strip_pruning first."
        )
    if not getattr(backbone, "transformer_layers", None) or not hasattr(backbone, "num_heads"):
        raise ValueError(
            f"{what} takes a tfzoo BERT/GPT/Llama backbone or task model; received "
            f"{type(model).__name__}."
        )
    return backbone


def _kv_heads(backbone):
    return getattr(backbone, "num_key_value_heads", None) or backbone.num_heads


def _count(fraction, units, what, name):
    """Number of units to remove: `round(fraction * units)`, at least 1 if fraction > 0."""
    if isinstance(fraction, bool) or not 0.0 <= fraction < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={fraction!r}")
    removed = int(round(fraction * units))
    if fraction > 0 and removed == 0:
        raise ValueError(
            f"{name}={fraction} removes 0 of {units} {what} per layer. Use {name} >= "
            f"{0.5 / units:.3g} to remove one, or 0 to keep them all."
        )
    if removed >= units:
        raise ValueError(
            f"{name}={fraction} would remove all {units} {what} of a layer; use a smaller fraction."
        )
    return removed


def _exact_count(count, units, what, name):
    """A number of units to remove, checked against the `units` a block has."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"`{name}` must be a whole number >= 0. Received: {name}={count!r}")
    if count >= units:
        raise ValueError(
            f"{name}={count} but every block has only {units} {what}; remove at most {units - 1}."
        )
    return int(count)


def _numpy(variable):
    return np.asarray(ops.convert_to_numpy(variable), dtype=np.float32)


# --- importance --------------------------------------------------------------------------------
def _magnitude_scores(backbone):
    """Per layer: L2 norm of each kv group's weights `(units,)` and each neuron's `(inter,)`."""
    groups = backbone.num_heads // _kv_heads(backbone)
    heads, neurons = [], []
    for block in backbone.transformer_layers:
        attention, ffn = block.self_attention, block.feed_forward
        q = _numpy(attention.query_dense.kernel)  # (hidden, H, D)
        k = _numpy(attention.key_dense.kernel)  # (hidden, KV, D)
        v = _numpy(attention.value_dense.kernel)
        o = _numpy(attention.output_dense.kernel)  # (H, D, hidden)
        per_q = (q**2).sum(axis=(0, 2)) + (o**2).sum(axis=(1, 2))  # (H,)
        per_kv = (k**2).sum(axis=(0, 2)) + (v**2).sum(axis=(0, 2))  # (KV,)
        heads.append(np.sqrt(per_q.reshape(-1, groups).sum(axis=1) + per_kv))
        up = (_numpy(ffn.intermediate_dense.kernel) ** 2).sum(axis=0)  # (inter,)
        if ffn.gate_dense is not None:
            up = up + (_numpy(ffn.gate_dense.kernel) ** 2).sum(axis=0)
        down = (_numpy(ffn.output_dense.kernel) ** 2).sum(axis=1)  # (inter,)
        neurons.append(np.sqrt(up + down))
    return heads, neurons


def _taylor_scores(model, backbone, data, loss, num_batches):
    """First-order Taylor importance: `|sum(activation * dL/dactivation)|` per head / neuron.

    The activation of head h is its context vector, which meets the output projection's rows
    `W_o[h]`; `sum_{b,t} ctx_h . dL/dctx_h = sum(W_o[h] * dL/dW_o[h])`, so the scores come from
    the gradients of the output kernels (no graph surgery). Likewise for a neuron j and row j
    of the feed-forward output kernel. Absolute values are taken per batch and summed.
    """
    import tensorflow as tf

    if data is None:
        raise ValueError(
            'importance="taylor" needs `data`: a tf.data.Dataset of (inputs, labels) batches.'
        )
    if loss is None and getattr(model, "compiled", False) is False:
        raise ValueError(
            'importance="taylor" needs a loss: compile the model first or pass `loss=`.'
        )
    loss_fn = keras.losses.get(loss) if loss is not None else None
    groups = backbone.num_heads // _kv_heads(backbone)
    blocks = backbone.transformer_layers
    kernels = [b.self_attention.output_dense.kernel for b in blocks]
    kernels += [b.feed_forward.output_dense.kernel for b in blocks]
    heads = [np.zeros(_kv_heads(backbone)) for _ in blocks]
    neurons = [np.zeros(backbone.intermediate_dim) for _ in blocks]
    seen = 0
    for batch in data.take(num_batches):
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("`data` must yield (inputs, labels) tuples.")
        x, y = batch[0], batch[1]
        with tf.GradientTape() as tape:
            y_pred = model(x, training=False)
            if loss_fn is not None:
                value = ops.mean(loss_fn(y, y_pred))
            else:
                value = model.compute_loss(x=x, y=y, y_pred=y_pred, training=False)
        grads = tape.gradient(value, kernels)
        n = len(blocks)
        for i in range(n):
            o, g = _numpy(kernels[i]), np.asarray(grads[i], np.float32)  # (H, D, hidden)
            per_q = np.abs((o * g).sum(axis=(1, 2)))  # (H,)
            heads[i] += per_q.reshape(-1, groups).sum(axis=1)
            w, g = _numpy(kernels[n + i]), np.asarray(grads[n + i], np.float32)  # (inter, hidden)
            neurons[i] += np.abs((w * g).sum(axis=1))
        seen += 1
    if not seen:
        raise ValueError("`data` yielded no batches.")
    return heads, neurons


# --- the smaller model -------------------------------------------------------------------------
def _shrunk_config(model, backbone, num_heads, num_kv_heads, intermediate_dim):
    serialized = keras.saving.serialize_keras_object(model)
    config = serialized["config"]
    backbone_config = config["backbone"]["config"] if model is not backbone else config
    backbone_config["num_heads"] = num_heads
    backbone_config["intermediate_dim"] = intermediate_dim
    backbone_config["head_dim"] = backbone.head_dim
    if "num_key_value_heads" in backbone_config:
        backbone_config["num_key_value_heads"] = num_kv_heads
    return serialized


def _slices(backbone, keep_groups, keep_neurons):
    """`{id(variable): new value}` for every variable that shrinks."""
    groups = backbone.num_heads // _kv_heads(backbone)
    values = {}
    for block, kv, neurons in zip(backbone.transformer_layers, keep_groups, keep_neurons):
        q_heads = (kv[:, None] * groups + np.arange(groups)[None, :]).reshape(-1)  # kept queries
        attention, ffn = block.self_attention, block.feed_forward
        for dense, heads in (
            (attention.query_dense, q_heads),
            (attention.key_dense, kv),
            (attention.value_dense, kv),
        ):
            values[id(dense.kernel)] = _numpy(dense.kernel)[:, heads, :]  # (hidden, h', D)
            if dense.bias is not None:
                values[id(dense.bias)] = _numpy(dense.bias)[heads]  # (h', D)
        values[id(attention.output_dense.kernel)] = _numpy(attention.output_dense.kernel)[q_heads]
        for dense in (ffn.intermediate_dense, ffn.gate_dense):
            if dense is None:
                continue
            values[id(dense.kernel)] = _numpy(dense.kernel)[:, neurons]  # (hidden, inter')
            if dense.bias is not None:
                values[id(dense.bias)] = _numpy(dense.bias)[neurons]
        values[id(ffn.output_dense.kernel)] = _numpy(ffn.output_dense.kernel)[neurons]
    return values


def prune_structured(
    model,
    heads_fraction=0.3,
    ffn_fraction=0.3,
    importance="magnitude",
    data=None,
    loss=None,
    num_batches=8,
    remove_heads=None,
    remove_neurons=None,
):
    """Removes the least important attention heads and feed-forward neurons of every block.

    Attention: `round(heads_fraction * num_heads)` heads leave every block (their query, key,
    value slices and output-projection rows). With grouped-query attention (Llama with
    `num_key_value_heads < num_heads`) whole groups leave: a key/value head and the
    `num_heads / num_key_value_heads` query heads that read it, `round(heads_fraction *
    num_key_value_heads)` groups per block (so multi-query models cannot lose heads).
    Feed-forward: `round(ffn_fraction * intermediate_dim)` neurons leave every block (their
    intermediate and gate columns and output rows).

    Importance: `"magnitude"` is the L2 norm of a head's (or group's, or neuron's) weights;
    `"taylor"` is the first-order Taylor estimate of the loss change when it is removed,
    `|sum(activation * gradient)|` summed over `num_batches` batches of `data`, with the
    model's compiled loss or `loss`.

    Args:
        model: a tfzoo BERT, GPT or Llama backbone or task model.
        heads_fraction: float in [0, 1). Defaults to `0.3`.
        ffn_fraction: float in [0, 1). Defaults to `0.3`.
        importance: `"magnitude"` or `"taylor"`. Defaults to `"magnitude"`.
        data: `tf.data.Dataset` of `(inputs, labels)` batches; needed for `"taylor"`.
        loss: a Keras loss (name or callable `(y_true, y_pred)`); defaults to the compiled one.
        num_batches: int. Batches of `data` used by `"taylor"`. Defaults to `8`.
        remove_heads: int or `None`. Heads (key/value groups with GQA) to remove per block,
            instead of `heads_fraction`. Must be below the block's count.
        remove_neurons: int or `None`. Feed-forward neurons to remove per block, instead of
            `ffn_fraction`.

    Returns:
        A new model of the same class, smaller (`num_heads`, `num_key_value_heads`,
        `intermediate_dim` reduced, `head_dim` kept), with the kept weights copied. The input
        model is unchanged. Fine-tune it with `fit` to recover accuracy.

    Example:

    >>> model = tfzoo.build("bert-mini", task="classification", num_classes=2)
    >>> small = tfzoo.compress.prune_structured(model, heads_fraction=0.25, ffn_fraction=0.5)
    >>> small.backbone.num_heads, small.backbone.intermediate_dim
    (3, 512)
    """
    backbone = check_prunable(model)
    if importance not in IMPORTANCES:
        raise ValueError(f"`importance` must be one of {IMPORTANCES}. Received: {importance!r}")
    heads, kv_heads = backbone.num_heads, _kv_heads(backbone)
    groups = heads // kv_heads
    what = "key/value groups" if groups > 1 else "heads"
    if remove_heads is None:
        removed_groups = _count(heads_fraction, kv_heads, what, "heads_fraction")
    else:
        removed_groups = _exact_count(remove_heads, kv_heads, what, "remove_heads")
    if remove_neurons is None:
        removed_neurons = _count(ffn_fraction, backbone.intermediate_dim, "neurons", "ffn_fraction")
    else:
        removed_neurons = _exact_count(
            remove_neurons, backbone.intermediate_dim, "neurons", "remove_neurons"
        )

    if importance == "magnitude":
        head_scores, neuron_scores = _magnitude_scores(backbone)
    else:
        head_scores, neuron_scores = _taylor_scores(model, backbone, data, loss, num_batches)

    def keep(scores, removed):
        # Drop the `removed` lowest scores (stable: the earlier unit goes on a tie) and keep
        # the survivors in their original order.
        order = np.argsort(scores, kind="stable")
        return np.sort(order[removed:])

    keep_groups = [keep(s, removed_groups) for s in head_scores]
    keep_neurons = [keep(s, removed_neurons) for s in neuron_scores]
    new_kv = kv_heads - removed_groups
    config = _shrunk_config(
        model, backbone, new_kv * groups, new_kv, backbone.intermediate_dim - removed_neurons
    )
    shrunk = keras.saving.deserialize_keras_object(config)

    values = _slices(backbone, keep_groups, keep_neurons)
    old_weights, new_weights = model.weights, shrunk.weights
    if len(old_weights) != len(new_weights):
        raise RuntimeError("The shrunk model's variables do not line up with the original's.")
    for old, new in zip(old_weights, new_weights):
        value = values.get(id(old))
        value = np.asarray(ops.convert_to_numpy(old)) if value is None else value
        if tuple(value.shape) != tuple(new.shape) or old.path != new.path:
            raise RuntimeError(
                f"Cannot copy {old.path} {tuple(value.shape)} into {new.path} {tuple(new.shape)}."
            )
        new.assign(value)
    return shrunk
