"""Magnitude pruning of tfzoo (Keras 3) models during `fit`, with tfmot's semantics.

`tfmot.sparsity.keras.prune_low_magnitude` refuses Keras 3 models, so tfzoo prunes natively:

    pruned = tfzoo.compress.prune_low_magnitude(model, tfzoo.compress.PolynomialDecay(0, 0.8, 0, 1000))
    pruned.compile(...); pruned.fit(ds, epochs=3)      # the pruning callback is added by `fit`
    model = tfzoo.compress.strip_pruning(pruned)       # the same tfzoo model, kernels now sparse

Design: `PrunedModel` wraps the model and owns one non-trainable mask per pruned kernel (in a
`PruningState` layer, so masks and the step counter are saved in `.keras` files). The
`UpdatePruningStep` callback advances the step before every training batch and, on the steps
the schedule names, recomputes the masks from the current kernels; the model's `train_step`
multiplies every kernel by its mask after each optimizer update, so pruned weights stay
exactly zero. Masks are computed as tfmot computes them (`tfmot...pruning_impl.Pruning`;
`tfzoo/compress/masks.py`): keep
`k = max(round(n * (1 - sparsity)), 1)` weights, i.e. every weight whose magnitude is at least
the k-th largest; blocks are pooled (average by default, or max) over their magnitudes and
kept or dropped whole.

Differences from tfmot: masks are re-applied after every optimizer step (tfmot applies them
before the next forward pass), so a pruned weight never regrows between two mask updates;
`scope="global"` ranks all kernels together (tfmot has only per-layer thresholds); block sizes
must divide the kernel's 2-D shape (tfmot's SAME padding misaligns blocks otherwise).
"""

import fnmatch

import keras
import numpy as np
from keras import ops

from tfzoo.compress.masks import block_scores, magnitude_mask, scores_to_mask, threshold
from tfzoo.compress.schedules import PruningSchedule, schedule_from_config
from tfzoo.compress.structured import check_not_qat
from tfzoo.compress.wrapped_model import from_wrapper_config, wrapper_config

__all__ = [
    "PrunedModel",
    "PruningState",
    "UpdatePruningStep",
    "magnitude_mask",
    "prunable_layers",
    "prune_low_magnitude",
    "sparsity_report",
    "strip_pruning",
]

SCOPES = ("layer", "global")
POOLINGS = ("avg", "max")


# --- which kernels ---------------------------------------------------------------------------
def _matrix_shape(layer):
    """2-D view `(inputs, outputs)` of a kernel, used for block sparsity.

    Dense kernels are already `(in, out)`. An EinsumDense kernel's axes that also index the input
    are rows, the others columns: attention's query/key/value kernels `(hidden, heads, head_dim)`
    become `(hidden, heads * head_dim)`, its output kernel `(heads, head_dim, hidden)` becomes
    `(heads * head_dim, hidden)`.
    """
    shape = tuple(layer.kernel.shape)
    if isinstance(layer, keras.layers.EinsumDense):
        inputs, rest = layer.equation.split(",")
        kernel_axes = rest.split("->")[0]
        n_in = sum(axis in inputs for axis in kernel_axes)
        if kernel_axes[:n_in] != "".join(a for a in kernel_axes if a in inputs):
            return None  # input axes are not leading: no 2-D view without a transpose
        return (int(np.prod(shape[:n_in])), int(np.prod(shape[n_in:])))
    return shape if len(shape) == 2 else None


def _kernel_name(layer):
    path = layer.kernel.path
    return path[: -len("/kernel")] if path.endswith("/kernel") else path


def prunable_layers(model):
    """`{name: layer}` of every Dense/EinsumDense of `model` (names are kernel paths without `/kernel`).

    Embeddings are not candidates: their rows are looked up, not multiplied, and a tied
    embedding is also the LM head.
    """
    found = [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense)) and layer.built
    ]
    # In the order of `model.weights` (embeddings first, blocks in order, heads last).
    order = {id(v): i for i, v in enumerate(model.weights)}
    found.sort(key=lambda layer: order.get(id(layer.kernel), len(order)))
    return {_kernel_name(layer): layer for layer in found}


def _default_targets(model, candidates):
    """The kernels inside the Transformer blocks (attention and feed-forward)."""
    backbone = getattr(model, "backbone", model)
    blocks = getattr(backbone, "transformer_layers", None)
    if not blocks:
        raise ValueError(
            f"{type(model).__name__} has no `transformer_layers`; pass `targets=` with names from "
            f"{sorted(candidates)} (or 'all')."
        )
    inside = {id(sub) for block in blocks for sub in block._flatten_layers(include_self=False)}
    return [name for name, layer in candidates.items() if id(layer) in inside]


def _resolve_targets(model, targets):
    candidates = prunable_layers(model)
    if targets is None:
        return _default_targets(model, candidates)
    if targets == "all":
        return list(candidates)
    if isinstance(targets, str):
        targets = [targets]
    names = []
    for pattern in targets:
        matched = [name for name in candidates if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            raise ValueError(
                f"Target {pattern!r} matches no Dense/EinsumDense layer of {type(model).__name__}. "
                f"Candidates (exact names or glob patterns): {sorted(candidates)}."
            )
        names += [name for name in matched if name not in names]
    return names


# --- state and model -------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="tfzoo")
class PruningState(keras.layers.Layer):
    """Non-trainable pruning state: one 0/1 mask per pruned kernel and the pruning step.

    Args:
        mask_shapes: list of kernel shapes, in the order of `PrunedModel.target_names`.
    """

    def __init__(self, mask_shapes, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.mask_shapes = [tuple(int(d) for d in shape) for shape in mask_shapes]
        self.masks = [
            self.add_weight(
                name=f"mask_{i}", shape=shape, initializer="ones", trainable=False, dtype="float32"
            )
            for i, shape in enumerate(self.mask_shapes)
        ]
        # -1 until the first `fit`, as in tfmot; then 1 on the first training batch.
        self.step = self.add_weight(
            name="pruning_step",
            shape=(),
            initializer=keras.initializers.Constant(-1),
            trainable=False,
            dtype="int64",
        )
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update({"mask_shapes": [list(shape) for shape in self.mask_shapes]})
        return config


@keras.saving.register_keras_serializable(package="tfzoo")
class PrunedModel(keras.Model):
    """A tfzoo model under magnitude pruning; build it with `tfzoo.compress.prune_low_magnitude`.

    Calls, trains, evaluates and saves (`.keras`) like the wrapped model; `wrapped` is that
    model (it shares its variables). `fit` adds the `UpdatePruningStep` callback when missing.

    Args:
        model: the tfzoo model to prune.
        schedule: a `tfzoo.compress.ConstantSparsity` or `PolynomialDecay`.
        block_size: `(bh, bw)`. Defaults to `(1, 1)` (unstructured).
        block_pooling: `"avg"` or `"max"`. Defaults to `"avg"` (tfmot's default).
        scope: `"layer"` (each kernel pruned to the schedule's sparsity) or `"global"` (one
            magnitude threshold over all pruned kernels). Defaults to `"layer"`.
        targets: `None` (the Transformer blocks' kernels), `"all"` or a list of layer names or
            glob patterns (see `tfzoo.compress.prunable_layers`).
    """

    def __init__(
        self,
        model,
        schedule,
        block_size=(1, 1),
        block_pooling="avg",
        scope="layer",
        targets=None,
        **kwargs,
    ):
        _check_arguments(model, schedule, block_size, block_pooling, scope)
        names = _resolve_targets(model, targets)
        layers = prunable_layers(model)
        block_size = tuple(int(b) for b in block_size)
        if block_size != (1, 1):
            for name in names:
                shape = _matrix_shape(layers[name])
                if shape is None or shape[0] % block_size[0] or shape[1] % block_size[1]:
                    raise ValueError(
                        f"block_size={block_size} does not divide the 2-D kernel {shape} of "
                        f"{name!r}. Use a block size that divides every target's kernel, or "
                        f"leave {name!r} out of `targets`."
                    )
        kwargs.setdefault("name", f"pruned_{model.name}")
        super().__init__(**kwargs)
        self.wrapped, self.schedule, self.target_names = model, schedule, list(names)
        self.block_size, self.block_pooling, self.scope = block_size, block_pooling, scope
        self.pruning_state = PruningState(
            [layers[name].kernel.shape for name in names], name="pruning_state"
        )
        model._tfzoo_pruned = True
        self.built = True

    # --- model API
    @property
    def input_names(self):
        return getattr(self.wrapped, "input_names", None)

    def call(self, inputs, training=None):
        return self.wrapped(inputs, training=training)

    def train_step(self, *args, **kwargs):
        logs = super().train_step(*args, **kwargs)
        self.apply_masks()  # after the optimizer: pruned weights stay exactly 0
        return logs

    def fit(self, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        if not any(isinstance(c, UpdatePruningStep) for c in callbacks):
            callbacks.append(UpdatePruningStep())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    # --- pruning
    def _kernels(self):
        layers = prunable_layers(self.wrapped)
        return [layers[name].kernel for name in self.target_names]

    def apply_masks(self):
        """Multiplies every pruned kernel by its mask (`kernel <- kernel * mask`)."""
        for kernel, mask in zip(self._kernels(), self.pruning_state.masks):
            kernel.assign(kernel * ops.cast(mask, kernel.dtype))

    def update_masks(self, sparsity):
        """Recomputes the masks from the current kernels for `sparsity`, then applies them."""
        layers = prunable_layers(self.wrapped)
        kernels = [np.asarray(ops.convert_to_numpy(k), np.float32) for k in self._kernels()]
        matrices = []
        for name, kernel in zip(self.target_names, kernels):
            if self.block_size == (1, 1):
                matrices.append(kernel)
            else:
                matrices.append(kernel.reshape(_matrix_shape(layers[name])))
        scores = [block_scores(m, self.block_size, self.block_pooling) for m in matrices]
        if self.scope == "global":
            shared = threshold(np.concatenate([s.reshape(-1) for s in scores]), sparsity)
            thresholds = [shared] * len(scores)
        else:
            thresholds = [threshold(s, sparsity) for s in scores]
        for mask, s, t, kernel in zip(self.pruning_state.masks, scores, thresholds, kernels):
            keep = (s >= t).astype(np.float32)
            mask.assign(scores_to_mask(keep, kernel.shape, self.block_size))
        self.apply_masks()

    @property
    def pruning_step(self):
        """The pruning step: -1 before the first `fit`, then the number of training batches."""
        return int(ops.convert_to_numpy(self.pruning_state.step))

    def get_config(self):
        return wrapper_config(
            self,
            keras.saving.serialize_keras_object(self.wrapped),
            schedule=self.schedule.get_config(),
            block_size=list(self.block_size),
            block_pooling=self.block_pooling,
            scope=self.scope,
            targets=list(self.target_names),
        )

    @classmethod
    def from_config(cls, config):
        return from_wrapper_config(cls, config, schedule=schedule_from_config)


def _check_arguments(model, schedule, block_size, block_pooling, scope):
    check_not_qat(model, "prune_low_magnitude")
    if isinstance(model, PrunedModel) or getattr(model, "_tfzoo_pruned", False):
        raise ValueError(
            "This model is already being pruned. Keep training the pruned model, or call "
            "tfzoo.compress.strip_pruning(pruned) first and prune the stripped model again."
        )
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(
            f"prune_low_magnitude takes a built Keras model (e.g. from tfzoo.build); received "
            f"{type(model).__name__}."
        )
    if not isinstance(schedule, PruningSchedule):
        raise ValueError(
            f"`schedule` must be a tfzoo.compress.ConstantSparsity or PolynomialDecay; received "
            f"{type(schedule).__name__}. (tfmot schedules drive tf_keras models only.)"
        )
    if (
        not isinstance(block_size, (tuple, list))
        or len(block_size) != 2
        or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in block_size)
    ):
        raise ValueError(
            f"`block_size` must be two positive ints (rows, columns), e.g. (1, 4). "
            f"Received: block_size={block_size!r}"
        )
    if block_pooling not in POOLINGS:
        raise ValueError(f"`block_pooling` must be one of {POOLINGS}. Received: {block_pooling!r}")
    if scope not in SCOPES:
        raise ValueError(f"`scope` must be one of {SCOPES}. Received: scope={scope!r}")


# --- public API ------------------------------------------------------------------------------
def prune_low_magnitude(
    model, schedule, block_size=(1, 1), block_pooling="avg", scope="layer", targets=None
):
    """Wraps a tfzoo model for magnitude pruning during `fit`.

    By default the kernels of every Dense/EinsumDense inside the Transformer blocks are pruned
    (attention query/key/value/output, feed-forward intermediate/gate/output); pass
    `targets="all"` to add the pooler and task heads, or a list of names / glob patterns.
    Embeddings are never pruned. Biases and norms are left dense.

    Args:
        model: a built tfzoo model (a backbone or a task model). It is not copied: the pruned
            model shares its variables.
        schedule: `tfzoo.compress.ConstantSparsity` or `tfzoo.compress.PolynomialDecay`.
        block_size: `(rows, columns)` of the blocks kept or dropped together, on the kernel's
            2-D view (`(hidden, heads * head_dim)` for attention projections). `(1, 4)` or
            `(4, 1)` suit SIMD kernels. Defaults to `(1, 1)`.
        block_pooling: `"avg"` (tfmot's default) or `"max"`.
        scope: `"layer"` (tfmot: every kernel gets the schedule's sparsity) or `"global"` (one
            threshold over all target kernels: layers end up with different sparsities).
        targets: `None`, `"all"`, or names / glob patterns such as
            `"transformer_layer_*/feed_forward/*"`.

    Returns:
        A `tfzoo.compress.PrunedModel`. Compile it and call `fit`.

    Raises:
        ValueError: on an already pruned model, an unknown target (the message lists the
            candidates), a block size that does not divide a kernel, or bad arguments.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> pruned = tfzoo.compress.prune_low_magnitude(
    ...     model, tfzoo.compress.PolynomialDecay(0.0, 0.5, begin_step=0, end_step=100, frequency=10))
    >>> pruned.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> pruned.fit(train_ds, epochs=2)
    >>> model = tfzoo.compress.strip_pruning(pruned)
    """
    return PrunedModel(
        model,
        schedule,
        block_size=tuple(block_size) if isinstance(block_size, list) else block_size,
        block_pooling=block_pooling,
        scope=scope,
        targets=targets,
    )


def strip_pruning(model):
    """Applies the masks and returns the plain tfzoo model inside a `PrunedModel`.

    The result is the original class (e.g. `BertClassifier`) with no mask variables; its pruned
    weights are zeros and stay in `.keras`, SavedModel, TFLite and ONNX exports.

    Example:

    >>> model = tfzoo.compress.strip_pruning(pruned)
    >>> tfzoo.compress.sparsity_report(model)["transformer_layer_0/feed_forward/output"]
    0.5
    """
    if not isinstance(model, PrunedModel):
        raise ValueError(
            f"strip_pruning takes the model returned by tfzoo.compress.prune_low_magnitude; "
            f"received a {type(model).__name__} that is not being pruned."
        )
    model.apply_masks()
    inner = model.wrapped
    inner._tfzoo_pruned = False
    return inner


def sparsity_report(model):
    """Fraction of exact zeros in each kernel: `{layer_name: sparsity}`.

    For a `PrunedModel` the pruned kernels; for any other model every Dense/EinsumDense kernel.

    Example:

    >>> report = tfzoo.compress.sparsity_report(pruned)
    >>> report["transformer_layer_0/self_attention/query"]
    0.5
    """
    if isinstance(model, PrunedModel):
        layers = prunable_layers(model.wrapped)
        names = model.target_names
    elif isinstance(model, keras.Model):
        layers = prunable_layers(model)
        names = list(layers)
    else:
        raise ValueError(f"sparsity_report takes a Keras model; received {type(model).__name__}.")
    report = {}
    for name in names:
        kernel = ops.convert_to_numpy(layers[name].kernel)
        report[name] = float(np.mean(kernel == 0))
    return report


class UpdatePruningStep(keras.callbacks.Callback):
    """Advances the pruning step and updates the masks on the schedule's steps during `fit`.

    `PrunedModel.fit` adds it automatically. Like tfmot's callback of the same name: the step
    goes from -1 to 0 when training first begins, then +1 before every training batch, and the
    masks are recomputed when `schedule(step)` says so. Needs `steps_per_execution=1`.

    Args:
        pruned: a `PrunedModel` trained by another model's `fit` (e.g. a `tfzoo.train.Distiller`
            whose student is `pruned.wrapped`): this callback then drives its schedule and also
            applies its masks after every batch (what `PrunedModel`'s own train step does).
            `None` (the default) drives the model being fit.

    Example:

    >>> pruned.fit(ds, epochs=2, callbacks=[tfzoo.compress.UpdatePruningStep()])
    """

    def __init__(self, pruned=None):
        super().__init__()
        self.pruned = pruned

    @property
    def _pruned(self):
        return self.pruned if self.pruned is not None else self.model

    def on_train_begin(self, logs=None):
        if not isinstance(self._pruned, PrunedModel):
            raise ValueError(
                "UpdatePruningStep drives a model from tfzoo.compress.prune_low_magnitude; this "
                f"model is a {type(self._pruned).__name__}."
            )
        if int(getattr(self.model, "steps_per_execution", 1) or 1) != 1:
            raise ValueError(
                "Pruning updates masks between training batches: compile the pruned model with "
                "steps_per_execution=1."
            )
        state = self._pruned.pruning_state
        if self._pruned.pruning_step == -1:
            state.step.assign(0)

    def on_train_batch_begin(self, batch, logs=None):
        pruned = self._pruned
        step = pruned.pruning_step + 1
        pruned.pruning_state.step.assign(step)
        should_prune, sparsity = pruned.schedule(step)
        if should_prune:
            pruned.update_masks(sparsity)

    def on_train_batch_end(self, batch, logs=None):
        if self.pruned is not None:  # another model's train step: keep pruned weights at 0
            self.pruned.apply_masks()

    def on_epoch_end(self, epoch, logs=None):
        self._pruned.apply_masks()
