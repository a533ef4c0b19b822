"""Optimisation for Transformers: AdamW with BERT-style weight decay, warmup + decay schedules.

`create_optimizer` returns a plain `keras.optimizers.AdamW`, so it saves and loads with the
model and works under every `tf.distribute` strategy and mixed-precision policy.
"""

import math

import keras
import tensorflow as tf
from keras import ops

DECAYS = ("linear", "cosine", "constant")

# Variables that are not decayed, as in BERT and Hugging Face: biases and the LayerNorm/RMSNorm
# scale and offset. tfzoo names them exactly `bias`, `gamma`, `beta` (the `_Bias` of the masked
# LM head is also `bias`). Keras matches these patterns with `re.search` against the variable's
# name, and on the TensorFlow backend that is the *tf.Variable* name, e.g.
# `transformer_layer_0/self_attention/query/bias:0` (checked on Keras 3.15; a pattern anchored
# on the bare name "^bias$" silently matches nothing). So: the last path component, with an
# optional ":0". This does not catch `reverse_embeddings` or a user's `gamma_proj`.
_LAST = r"(?:^|/){}(?::\d+)?$"
NO_DECAY_NAMES = tuple(_LAST.format(n) for n in ("bias", "gamma", "beta"))
EMBEDDING_NAMES = tuple(_LAST.format(n) for n in ("embeddings", "reverse_embeddings"))


@keras.saving.register_keras_serializable(package="tfzoo")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `learning_rate`, then linear or cosine decay.

    With `warmup_steps = W`, `decay_steps = N` (the total number of optimizer steps) and
    `end_learning_rate = e`:

    - step `s < W`: `learning_rate * (s + 1) / W` (the first step already moves the weights);
    - `"linear"`: `e + (learning_rate - e) * (N - s) / (N - W)` for `W <= s <= N`;
    - `"cosine"`: `e + (learning_rate - e) * 0.5 * (1 + cos(pi * (s - W) / (N - W)))`;
    - `"constant"`: `learning_rate`;
    - after step `N` the rate stays at `e`.

    Args:
        learning_rate: float. Peak learning rate, reached at the end of warmup.
        decay_steps: int. Total number of optimizer steps (warmup included).
        warmup_steps: int. Steps of linear warmup. Defaults to `0`.
        decay: string. `"linear"`, `"cosine"` or `"constant"`. Defaults to `"linear"`.
        end_learning_rate: float. Rate at the end of the decay. Defaults to `0.0`.
        steps_per_update: int. Divide the step the optimizer passes in by this (floor) before
            use. Keras 3.15 evaluates a schedule at its *batch* counter (`_iterations`) even
            with `gradient_accumulation_steps=k`, although only every k-th batch is an update;
            `create_optimizer` sets this to k so the schedule counts updates. Defaults to `1`.

    Example:

    >>> schedule = tfzoo.train.WarmupDecay(1e-3, decay_steps=100, warmup_steps=10)
    >>> float(schedule(9))
    0.001
    """

    def __init__(
        self,
        learning_rate,
        decay_steps,
        warmup_steps=0,
        decay="linear",
        end_learning_rate=0.0,
        steps_per_update=1,
        name="warmup_decay",
    ):
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(
                f"`learning_rate` must be a number > 0. Received: learning_rate={learning_rate}"
            )
        if not isinstance(decay_steps, int) or decay_steps < 1:
            raise ValueError(
                f"`decay_steps` (the total number of training steps) must be an int >= 1. "
                f"Received: decay_steps={decay_steps}. Use epochs * steps_per_epoch."
            )
        if not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= decay_steps:
            raise ValueError(
                f"`warmup_steps` must be an int in [0, decay_steps={decay_steps}]. Received: "
                f"warmup_steps={warmup_steps}. A common choice is 10% of the training steps."
            )
        if decay not in DECAYS:
            raise ValueError(f"Unknown decay {decay!r}. Supported: {DECAYS}.")
        if not 0 <= end_learning_rate <= learning_rate:
            raise ValueError(
                f"`end_learning_rate` must be in [0, learning_rate]. Received: "
                f"end_learning_rate={end_learning_rate}"
            )
        if not isinstance(steps_per_update, int) or steps_per_update < 1:
            raise ValueError(
                f"`steps_per_update` must be an int >= 1. Received: {steps_per_update}"
            )
        self.learning_rate = float(learning_rate)
        self.steps_per_update = steps_per_update
        self.decay_steps = decay_steps
        self.warmup_steps = warmup_steps
        self.decay = decay
        self.end_learning_rate = float(end_learning_rate)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.steps_per_update > 1:
            step = ops.floor(step / float(self.steps_per_update))  # batches -> updates
        peak, end = self.learning_rate, self.end_learning_rate
        warmup = float(max(self.warmup_steps, 1))
        warm = peak * ops.minimum(step + 1.0, warmup) / warmup
        span = float(max(self.decay_steps - self.warmup_steps, 1))
        # progress in [0, 1] over the decay phase; clipped so the rate stays at `end` afterwards.
        progress = ops.clip((step - float(self.warmup_steps)) / span, 0.0, 1.0)
        if self.decay == "linear":
            decayed = end + (peak - end) * (1.0 - progress)
        elif self.decay == "cosine":
            decayed = end + (peak - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        else:
            decayed = ops.convert_to_tensor(peak, "float32") + 0.0 * step
        return ops.where(step < float(self.warmup_steps), warm, decayed)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "decay_steps": self.decay_steps,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
            "end_learning_rate": self.end_learning_rate,
            "steps_per_update": self.steps_per_update,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="tfzoo")
class AdamW(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose global-norm clipping is the same on 1 or N replicas.

    Keras 3.15 clips gradients inside each replica, before they are summed across replicas,
    so under `MirroredStrategy` each replica is clipped by the norm of its own share of the
    batch and training differs from one device (measured on 2 logical CPUs: max weight
    difference 5e-3 after 12 steps with `global_clipnorm=1.0`, 3e-8 without clipping). Here,
    with more than one replica, the gradients are summed across replicas first (one dense
    all-reduce; sparse embedding gradients are made dense, as Keras' own norm does on one
    device), clipped by their global norm, and Keras' second cross-replica sum is skipped, so
    every replica applies exactly the clipped global-batch gradient. On one replica it is
    Keras' AdamW unchanged.
    """

    def _reduces_gradients_itself(self):
        """True in a replica context of N > 1 replicas with clipping on (the same on all)."""
        if not self.global_clipnorm:
            return False
        context = tf.distribute.get_replica_context()  # None in a cross-replica context
        return context is not None and context.num_replicas_in_sync > 1

    def _clip_gradients(self, grads):
        if not self._reduces_gradients_itself():
            return super()._clip_gradients(grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        # Per-replica gradients of (replica loss / replicas): their sum is the batch gradient.
        # Dense, so that the norm is that of the summed rows (gathered IndexedSlices keep one
        # row per occurrence) and so that every collective has the same shape on all replicas.
        dense = [tf.convert_to_tensor(grads[i]) for i in present]
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, dense)
        clipped, _ = tf.clip_by_global_norm(total, self.global_clipnorm)
        out = list(grads)
        for i, g in zip(present, clipped):
            out[i] = g
        return out

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if self._reduces_gradients_itself():
            return list(grads_and_vars)  # already summed (and clipped) in _clip_gradients
        return super()._all_reduce_sum_gradients(grads_and_vars)


def create_optimizer(
    learning_rate,
    num_train_steps,
    warmup_steps=0,
    decay="linear",
    weight_decay=0.01,
    clipnorm=1.0,
    gradient_accumulation_steps=None,
    end_learning_rate=0.0,
    beta_1=0.9,
    beta_2=0.999,
    epsilon=1e-6,
    exclude_embeddings=False,
    loss_scale_factor=None,
):
    """AdamW with decoupled weight decay, warmup + decay and global-norm clipping.

    Weight decay skips biases and normalisation weights (`bias`, `gamma`, `beta`), as BERT and
    Hugging Face do; embeddings are decayed unless `exclude_embeddings=True`. Gradients are
    clipped by their global norm (`global_clipnorm`), once per update, after accumulation.

    With `gradient_accumulation_steps=k`, Keras averages the gradients of `k` consecutive
    batches and applies one update, the same update as one batch `k` times bigger (for
    mean-reduced losses and equal batch sizes). The schedule then counts updates, not batches:
    give `num_train_steps` in updates (`batches // k`). (Keras 3.15 itself would advance the
    schedule once per *batch*; `WarmupDecay(steps_per_update=k)` corrects that.)

    Args:
        learning_rate: float. Peak learning rate.
        num_train_steps: int. Total optimizer updates of the run (the schedule's length).
        warmup_steps: int. Linear warmup updates. Defaults to `0`.
        decay: string. `"linear"`, `"cosine"` or `"constant"`. Defaults to `"linear"`.
        weight_decay: float. Decoupled weight decay (`w -= lr * weight_decay * w`). Defaults to
            `0.01`.
        clipnorm: float or `None`. Global gradient-norm clip. Defaults to `1.0`.
        gradient_accumulation_steps: int >= 2 or `None`. Defaults to `None`.
        end_learning_rate: float. Defaults to `0.0`.
        beta_1: float. Defaults to `0.9`.
        beta_2: float. Defaults to `0.999`.
        epsilon: float. Defaults to `1e-6` (BERT's value; Keras' default is `1e-7`).
        exclude_embeddings: bool. Also skip decay of embedding tables. Defaults to `False`.
        loss_scale_factor: float or `None`. Passed to Keras. Defaults to `None`.

    Returns:
        A `tfzoo.train.AdamW` (a `keras.optimizers.AdamW` whose clipping is also right under
        `tf.distribute`) whose learning rate is a `tfzoo.train.WarmupDecay`.

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> optimizer = tfzoo.train.create_optimizer(5e-5, num_train_steps=1000, warmup_steps=100)
    >>> model.compile(optimizer=optimizer,
    ...               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """
    if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(
            f"`weight_decay` must be a number >= 0. Received: weight_decay={weight_decay}"
        )
    if clipnorm is not None and (not isinstance(clipnorm, (int, float)) or clipnorm <= 0):
        raise ValueError(
            f"`clipnorm` must be > 0 or None (no clipping). Received: clipnorm={clipnorm}"
        )
    if gradient_accumulation_steps is not None and (
        not isinstance(gradient_accumulation_steps, int) or gradient_accumulation_steps < 2
    ):
        raise ValueError(
            "`gradient_accumulation_steps` must be an int >= 2 or None. Received: "
            f"gradient_accumulation_steps={gradient_accumulation_steps}"
        )
    schedule = WarmupDecay(
        learning_rate,
        decay_steps=num_train_steps,
        warmup_steps=warmup_steps,
        decay=decay,
        end_learning_rate=end_learning_rate,
        steps_per_update=gradient_accumulation_steps or 1,
    )
    optimizer = AdamW(
        learning_rate=schedule,
        weight_decay=float(weight_decay),
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm,
        gradient_accumulation_steps=gradient_accumulation_steps,
        loss_scale_factor=loss_scale_factor,
    )
    names = list(NO_DECAY_NAMES) + (list(EMBEDDING_NAMES) if exclude_embeddings else [])
    optimizer.exclude_from_weight_decay(var_names=names)
    return optimizer


def decays_weight(optimizer, variable):
    """Whether `optimizer` applies weight decay to `variable` (for checks and reports)."""
    if getattr(optimizer, "weight_decay", None) in (None, 0):
        return False
    return bool(optimizer._use_weight_decay(variable))
