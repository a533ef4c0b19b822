"""Knowledge distillation: a small student learns from a fine-tuned teacher's soft targets.

Keras 3.15 ships `keras.distillation` (`Distiller`, `LogitsDistillation`, `FeatureDistillation`).
It was checked and is not used as the base here: its feature distillation looks layers up by
name among the *top-level* layers of teacher and student (a tfzoo task model nests its backbone,
so the transformer layers are not reachable), it has no learned projection for a student of a
different width, and its hard-label loss ignores `sample_weight`. Its `LogitsDistillation` is
used in the tests as an independent reference for the soft-target loss.

The loss of a batch is

    alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
    + (1 - alpha) * cross_entropy(labels, student)
    + hidden_weight * mean_l MSE(teacher_hidden_l, project_l(student_hidden_l))

each averaged over the examples of the global batch (or over positions weighted by
`sample_weight` for token-level models), also under `tf.distribute`. A negative label marks an
unlabeled example: it gets the soft targets only (transfer data the teacher labels). The `T^2` factor keeps the soft-target gradients on the scale of the hard-label ones
(Hinton et al., 2015); the hidden-state term is TinyBERT's (Jiao et al., 2020).
"""

import keras
import tensorflow as tf
from keras import ops


def soft_target_loss(teacher_logits, student_logits, temperature=2.0, sample_weight=None):
    """`T^2 * KL(softmax(teacher / T) || softmax(student / T))`, averaged over examples.

    Args:
        teacher_logits: float tensor `(..., num_classes)`.
        student_logits: float tensor, same shape.
        temperature: float > 0. Defaults to `2.0`.
        sample_weight: float tensor of the leading shape `(...)` or `None`. When given, the
            result is `sum(w * kl) / sum(w)`.

    Returns:
        A float32 scalar. Inside a `tf.distribute` replica function with N > 1 replicas
        (e.g. a `fit` step under `MirroredStrategy`), it is this replica's share of the
        global-batch mean: its own weighted sum divided by the weight summed over *all*
        replicas, so that the replicas' shares (and gradients) add up to the mean over the
        global batch, as with Keras' own losses.

    Example:

    >>> tfzoo.train.soft_target_loss(teacher(x), student(x), temperature=2.0)
    """
    t = ops.cast(teacher_logits, "float32") / temperature
    s = ops.cast(student_logits, "float32") / temperature
    log_p = ops.log_softmax(t, axis=-1)
    log_q = ops.log_softmax(s, axis=-1)
    kl = ops.sum(ops.exp(log_p) * (log_p - log_q), axis=-1)  # (...)
    return (temperature**2) * _weighted_mean(kl, sample_weight)


def hard_label_loss(labels, student_logits, sample_weight=None):
    """Sparse cross-entropy from logits, averaged like `soft_target_loss`.

    A negative label (e.g. `-1`) marks an example or position without a label: it gets weight
    0, so unlabeled transfer data, which only the teacher can teach, can share a batch with
    labeled data. A batch without any label gives 0.
    """
    labels = ops.cast(labels, "int32")
    ce = keras.losses.sparse_categorical_crossentropy(
        ops.maximum(labels, 0), ops.cast(student_logits, "float32"), from_logits=True
    )
    labelled = ops.cast(ops.reshape(labels, ops.shape(ce)) >= 0, "float32")
    if sample_weight is not None:
        labelled = labelled * ops.cast(ops.reshape(sample_weight, ops.shape(ce)), "float32")
    return _weighted_mean(ce, labelled)


def _weighted_mean(values, sample_weight):
    """`sum(w * values) / sum(w)` over the global batch (see `soft_target_loss`)."""
    values = ops.cast(values, "float32")
    if sample_weight is None:
        w = ops.ones_like(values)
    else:
        w = ops.cast(ops.reshape(sample_weight, ops.shape(values)), "float32")
    # The denominator is the weight of the *global* batch: a replica dividing by its own
    # weight would give each replica's tokens a different scale whenever the replicas hold
    # different numbers of weighted positions (padding, masked-LM selections, unlabeled rows).
    count = _sum_over_replicas(ops.stop_gradient(ops.sum(w)))
    return ops.sum(values * w) / ops.maximum(count, 1e-12)


def _sum_over_replicas(value):
    context = tf.distribute.get_replica_context()  # None in a cross-replica context
    if context is None or context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def _num_replicas():
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def _hidden_extractor(model, layer_indices, role):
    """A model from `model`'s inputs to the outputs of chosen transformer layers."""
    backbone = getattr(model, "backbone", model)
    layers = getattr(backbone, "transformer_layers", None)
    if layers is None:
        raise ValueError(
            f"Hidden-state transfer needs a tfzoo model with `backbone.transformer_layers`; the "
            f"{role} ({type(model).__name__}) has none. Use hidden_layers=None."
        )
    for i in layer_indices:
        if not -len(layers) <= i < len(layers):
            raise ValueError(
                f"hidden_layers: the {role} has {len(layers)} transformer layers; index {i} is "
                "out of range."
            )
    outputs = [layers[i].output for i in layer_indices]
    return keras.Model(backbone.input, outputs, name=f"{role}_hidden_states")


@keras.saving.register_keras_serializable(package="tfzoo")
class Distiller(keras.Model):
    """Trains `student` on a frozen `teacher`'s temperature-softened outputs plus the labels.

    `fit` it on `(features, labels)` or `(features, labels, sample_weight)` batches, where
    `features` is what both models take (same tokenizer). A label of -1 marks an unlabeled
    example, which learns from the teacher only. Calling the distiller runs the student;
    `distiller.student` is a standalone model to save and export.

    Args:
        teacher: `keras.Model` producing logits. Frozen (`trainable = False`).
        student: `keras.Model` producing logits of the same shape.
        temperature: float > 0. Softmax temperature of the soft targets. Defaults to `2.0`.
        alpha: float in [0, 1]. Weight of the soft-target loss; `1 - alpha` weighs the
            hard-label loss. Defaults to `0.5`.
        hidden_layers: list of `(teacher_layer, student_layer)` index pairs or `None`. Adds
            TinyBERT's MSE between the teacher's hidden states and a learned linear projection
            of the student's (the projection maps the student's width to the teacher's and is
            trained with the student, then discarded). Defaults to `None`.
        hidden_weight: float. Weight of the hidden-state loss. Defaults to `1.0`.

    Example:

    >>> teacher = tfzoo.build("bert-small", task="classification", num_classes=2)  # fine-tuned
    >>> student = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> distiller = tfzoo.train.Distiller(teacher, student, temperature=2.0, alpha=0.5,
    ...                                   hidden_layers=[(3, 1)])
    >>> distiller.compile(optimizer=tfzoo.train.create_optimizer(1e-4, 1000, 100),
    ...                   metrics=["accuracy"])
    >>> distiller.fit(train_ds, epochs=3)
    >>> distiller.student.save("student.keras")
    """

    def __init__(
        self,
        teacher,
        student,
        temperature=2.0,
        alpha=0.5,
        hidden_layers=None,
        hidden_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ValueError(
                f"`temperature` must be a number > 0. Received: temperature={temperature}"
            )
        if not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
        t_shape, s_shape = tuple(teacher.output.shape), tuple(student.output.shape)
        if t_shape[1:] != s_shape[1:]:
            raise ValueError(
                f"Teacher and student outputs differ: teacher {t_shape}, student {s_shape}. "
                "They need the same logits shape (same task, num_classes and vocabulary)."
            )
        self.teacher = teacher
        self.student = student
        self.teacher.trainable = False
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.hidden_layers = [tuple(p) for p in hidden_layers] if hidden_layers else []
        self.hidden_weight = float(hidden_weight)
        self.projections = []
        if self.hidden_layers:
            self._teacher_hidden = _hidden_extractor(
                teacher, [p[0] for p in self.hidden_layers], "teacher"
            )
            self._student_hidden = _hidden_extractor(
                student, [p[1] for p in self.hidden_layers], "student"
            )
            t_width = teacher.backbone.hidden_dim
            s_width = student.backbone.hidden_dim
            for i, _ in enumerate(self.hidden_layers):
                projection = keras.layers.Dense(t_width, name=f"hidden_projection_{i}")
                projection.build((None, None, s_width))
                self.projections.append(projection)
        self.soft_loss_tracker = keras.metrics.Mean(name="soft_loss")
        self.hard_loss_tracker = keras.metrics.Mean(name="hard_loss")
        self.hidden_loss_tracker = keras.metrics.Mean(name="hidden_loss")

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def compile(self, optimizer="adam", metrics=None, **kwargs):
        """Like `keras.Model.compile`; the loss is the distillation loss (no `loss=`)."""
        if kwargs.get("loss") is not None:
            raise ValueError(
                "Distiller.compile takes no `loss`: the loss is set by temperature, alpha and "
                "hidden_layers."
            )
        kwargs.pop("loss", None)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # Every term is this replica's share of the global-batch mean (see
        # `soft_target_loss`); Keras sums the replicas' gradients. The trackers get the share
        # times the number of replicas, so that their cross-replica mean is the global mean.
        if y_pred is None:
            y_pred = self(x, training=training)
        replicas = float(_num_replicas())
        total = 0.0
        if self.alpha > 0:
            teacher_logits = ops.stop_gradient(self.teacher(x, training=False))
            soft = soft_target_loss(teacher_logits, y_pred, self.temperature, sample_weight)
            self.soft_loss_tracker.update_state(soft * replicas)
            total = total + self.alpha * soft
        if self.alpha < 1:
            if y is None:
                raise ValueError("alpha < 1 needs labels: fit on (features, labels) batches.")
            hard = hard_label_loss(y, y_pred, sample_weight)
            self.hard_loss_tracker.update_state(hard * replicas)
            total = total + (1.0 - self.alpha) * hard
        if self.hidden_layers:
            hidden = self._hidden_loss(x, training)
            self.hidden_loss_tracker.update_state(hidden * replicas)
            total = total + self.hidden_weight * hidden
        return total

    def _hidden_loss(self, x, training):
        teacher_states = self._teacher_hidden(x, training=False)
        student_states = self._student_hidden(x, training=training)
        if not isinstance(teacher_states, (list, tuple)):
            teacher_states, student_states = [teacher_states], [student_states]
        mask = x.get("padding_mask") if isinstance(x, dict) else None
        losses = []
        for projection, t, s in zip(self.projections, teacher_states, student_states):
            diff = ops.cast(projection(s), "float32") - ops.stop_gradient(ops.cast(t, "float32"))
            per_token = ops.mean(ops.square(diff), axis=-1)  # (b, s)
            losses.append(_weighted_mean(per_token, mask))
        return ops.mean(ops.stack(losses))

    @property
    def metrics(self):
        trackers = [self.soft_loss_tracker, self.hard_loss_tracker]
        if self.hidden_layers:
            trackers.append(self.hidden_loss_tracker)
        return super().metrics + trackers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "teacher": keras.saving.serialize_keras_object(self.teacher),
                "student": keras.saving.serialize_keras_object(self.student),
                "temperature": self.temperature,
                "alpha": self.alpha,
                "hidden_layers": [list(p) for p in self.hidden_layers] or None,
                "hidden_weight": self.hidden_weight,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["teacher"] = keras.saving.deserialize_keras_object(config["teacher"])
        config["student"] = keras.saving.deserialize_keras_object(config["student"])
        return cls(**config)


def distill(
    teacher,
    student,
    train_data,
    temperature=2.0,
    alpha=0.5,
    epochs=1,
    optimizer=None,
    learning_rate=1e-4,
    validation_data=None,
    hidden_layers=None,
    hidden_weight=1.0,
    callbacks=None,
    verbose="auto",
    metrics=("accuracy",),
):
    """Distils `teacher` into `student` with `fit` and returns the trained student.

    Args:
        teacher: `keras.Model`. A fine-tuned model producing logits; frozen.
        student: `keras.Model`. Same input format and logits shape; trained in place.
        train_data: `tf.data.Dataset` of `(features, labels)` or
            `(features, labels, sample_weight)` batches.
        temperature: float. Defaults to `2.0`.
        alpha: float. Weight of the soft-target loss. Defaults to `0.5`.
        epochs: int. Defaults to `1`.
        optimizer: `keras.optimizers.Optimizer` or `None` (AdamW with warmup and linear decay
            at `learning_rate`, from `tfzoo.train.create_optimizer`).
        learning_rate: float. Used when `optimizer` is `None`. Defaults to `1e-4`.
        validation_data: dataset or `None`.
        hidden_layers: list of `(teacher_layer, student_layer)` pairs or `None`.
        hidden_weight: float. Defaults to `1.0`.
        callbacks: list of Keras callbacks or `None`.
        verbose: Keras verbosity. Defaults to `"auto"`.
        metrics: metrics of the student's outputs. Defaults to `("accuracy",)`.

    Returns:
        `(student, history)`.

    Example:

    >>> student, history = tfzoo.train.distill(teacher, student, train_ds, epochs=3)
    >>> student.save("student.keras")
    """
    distiller = Distiller(
        teacher,
        student,
        temperature=temperature,
        alpha=alpha,
        hidden_layers=hidden_layers,
        hidden_weight=hidden_weight,
    )
    if optimizer is None:
        from tfzoo.train.optimizers import create_optimizer

        steps = int(train_data.cardinality()) if hasattr(train_data, "cardinality") else -1
        if steps <= 0:
            raise ValueError(
                "distill() cannot size the learning-rate schedule: train_data has unknown "
                "length. Pass optimizer=tfzoo.train.create_optimizer(lr, num_train_steps, ...)."
            )
        total = steps * epochs
        optimizer = create_optimizer(learning_rate, total, warmup_steps=max(total // 10, 0))
    distiller.compile(optimizer=optimizer, metrics=list(metrics) if metrics else None)
    history = distiller.fit(
        train_data,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    return student, history
