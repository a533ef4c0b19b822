"""Choosing a `tf.distribute` strategy: CPU, one or several GPUs, TPU, several workers.

Keras 3 on the TensorFlow backend trains under any `tf.distribute.Strategy`: build and compile
the model inside `strategy.scope()`, then call `fit` as usual; the global batch is split across
the replicas and gradients are all-reduced.
"""

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "cpu", "default", "mirrored", "tpu", "multi_worker")


def _tpu_strategy(tpu=None):
    """Connects to a TPU and returns a `TPUStrategy`; raises the resolver's error otherwise."""
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def strategy(kind="auto", devices=None, tpu=None, communication="auto"):
    """A `tf.distribute.Strategy` for `kind`; build and compile the model inside its scope.

    Args:
        kind: string.
            - `"auto"`: a TPU if a TPU resolver connects, else `MirroredStrategy` over the GPUs
              when there are 2 or more, else the default strategy (one device).
            - `"cpu"` / `"default"`: the default strategy (the first GPU if any, else the CPU).
            - `"mirrored"`: `MirroredStrategy` over `devices` (default: every GPU; the logical
              CPUs when there is no GPU but several logical CPUs are configured).
            - `"tpu"`: `TPUStrategy`; `tpu` names the TPU (`""` = the local/Colab TPU).
            - `"multi_worker"`: `MultiWorkerMirroredStrategy`; needs the `TF_CONFIG`
              environment variable (cluster and this worker's task) on every worker.
            Defaults to `"auto"`.
        devices: list of str or `None`. Devices for `"mirrored"`, e.g. `["/gpu:0", "/gpu:1"]`.
        tpu: str or `None`. TPU name or address for `"tpu"`/`"auto"`.
        communication: string. Collective implementation for `"multi_worker"`: `"auto"`,
            `"ring"` (gRPC) or `"nccl"`. Defaults to `"auto"`.

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: an unknown `kind`, or a strategy that this machine cannot provide (no TPU,
            fewer than 2 devices for `"mirrored"`, no or malformed `TF_CONFIG`).

    Example:

    >>> strategy = tfzoo.train.strategy("auto")
    >>> with strategy.scope():
    ...     model = tfzoo.build("bert-mini", task="classification", num_classes=2)
    ...     model.compile(optimizer=tfzoo.train.create_optimizer(5e-5, 1000, 100),
    ...                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> model.fit(train_ds.batch(32 * strategy.num_replicas_in_sync))
    """
    if kind not in STRATEGIES:
        raise ValueError(f"Unknown strategy {kind!r}. Supported: {STRATEGIES}.")
    if kind == "auto":
        if tpu is not None or os.environ.get("TPU_NAME") or _has_local_tpu():
            try:
                return _tpu_strategy(tpu)
            except (ValueError, RuntimeError, tf.errors.OpError):
                pass  # no reachable TPU: fall through to GPUs / default
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        return tf.distribute.get_strategy()
    if kind in ("cpu", "default"):
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        if devices is None:
            devices = [d.name for d in tf.config.list_logical_devices("GPU")]
            if len(devices) < 2:
                cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
                devices = cpus if len(cpus) > 1 else devices
        if len(devices) < 2:
            raise ValueError(
                f"strategy('mirrored') needs at least 2 devices; found {len(devices)} "
                f"({devices}). On one device use strategy('cpu'); to test mirroring on a CPU, split "
                "it into logical devices first with tf.config.set_logical_device_configuration."
            )
        return tf.distribute.MirroredStrategy(devices)
    if kind == "tpu":
        try:
            return _tpu_strategy(tpu)
        except (ValueError, RuntimeError, tf.errors.OpError) as error:
            raise ValueError(
                f"strategy('tpu'): no TPU found. Tried TPUClusterResolver(tpu={tpu or ''!r}) "
                f"(and $TPU_NAME={os.environ.get('TPU_NAME')!r}); it failed with: "
                f"{str(error).splitlines()[0] if str(error) else type(error).__name__}. Run on a TPU "
                "VM or Colab TPU runtime, or pass tpu='grpc://<address>:8470' / the TPU name; "
                "use strategy('auto') to fall back to GPUs or the CPU."
            ) from error
    # multi_worker
    _check_tf_config()
    implementation = {
        "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
        "ring": tf.distribute.experimental.CommunicationImplementation.RING,
        "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
    }
    if communication not in implementation:
        raise ValueError(
            f"Unknown communication {communication!r}. Supported: {sorted(implementation)}."
        )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=implementation[communication]
    )
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _has_local_tpu():
    return os.path.exists("/dev/accel0") or bool(os.environ.get("COLAB_TPU_ADDR"))


def _check_tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "strategy('multi_worker') needs the TF_CONFIG environment variable on every worker, "
            'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\'.'
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {raw[:200]!r}") from error
    workers = config.get("cluster", {}).get("worker")
    task = config.get("task", {})
    if not workers or task.get("type") not in ("worker", "chief") or "index" not in task:
        raise ValueError(
            "TF_CONFIG must have cluster.worker (a list of host:port) and task {type: 'worker', "
            f"index: i}}. Received: {raw[:200]!r}"
        )
    return config


def worker_info():
    """`(num_workers, worker_index)` from `TF_CONFIG`, `(1, 0)` without it (for data sharding)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1, 0
    config = _check_tf_config()
    return len(config["cluster"]["worker"]), int(config["task"]["index"])


def split_cpu(num_devices=2):
    """Splits the physical CPU into `num_devices` logical devices (call before TF starts).

    Lets `strategy("mirrored")` run on a laptop: the replicas share the cores, so it tests the
    distributed code path, not speed. Must run before any op creates the TF context.

    Raises:
        ValueError: TensorFlow already initialised its devices.
    """
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)]
        )
    except RuntimeError as error:
        raise ValueError(
            "split_cpu() must be called before TensorFlow initialises its devices (before any "
            f"model is built or tensor created): {error}"
        ) from error
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def prepare_for_fit(model, strategy, sample_batch):
    """Builds a compiled model's metric and loss state so `fit` works under `strategy`.

    Works around Keras 3.15 (`keras/src/backend/tensorflow/trainer.py`,
    `_maybe_symbolic_build`): under a `tf.distribute` strategy, `fit` first takes one
    distributed batch and reduces it across replicas with `"MEAN"` to build the metrics. For
    dict inputs that breaks in two ways (checked on this stack): with `MirroredStrategy` the
    integer token ids come back as float64 (which tfzoo models reject, rightly), and with
    `MultiWorkerMirroredStrategy` the reduction of a dict raises "Attempt to convert a value
    ({...PerReplica...}) ... to a Tensor". Here the same build runs on an ordinary (global)
    batch instead, and the model's captured strategy is cleared so that Keras skips its own
    build; `fit` must then be called inside `with strategy.scope():` (it takes the strategy
    from the scope). Under `MultiWorkerMirroredStrategy` it also fixes Keras' reduction of
    the scalar logs across workers (see `_patch_keras_multi_worker_reduce`).

    Args:
        model: a compiled `keras.Model` created under `strategy.scope()`.
        strategy: the `tf.distribute.Strategy`.
        sample_batch: one batch `(x, y)` or `(x, y, sample_weight)` from the training data
            (e.g. `next(iter(dataset))`).

    Example:

    >>> with strategy.scope():
    ...     model = tfzoo.build("bert-mini", task="classification", num_classes=2)
    ...     model.compile(...)
    ...     tfzoo.train.prepare_for_fit(model, strategy, next(iter(train_ds)))
    ...     model.fit(train_ds, epochs=3)
    """
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if strategy.num_replicas_in_sync == 1 and not multi_worker:
        return model
    if multi_worker:
        _patch_keras_multi_worker_reduce()
    with strategy.scope():
        model._symbolic_build(data_batch=sample_batch)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    model._distribute_strategy = None
    return model


_PATCHED = []


def _patch_keras_multi_worker_reduce():
    """Makes Keras 3.15 `fit` work under `MultiWorkerMirroredStrategy` (idempotent).

    Keras' `reduce_per_replica` (`keras/src/backend/tensorflow/trainer.py`) reduces every log
    value of a multi-worker step with `strategy.reduce("MEAN", v, axis=0)`; the loss and
    metric results are scalars, so every `fit` fails with "Invalid reduction dimension 0 for
    input with 0 dimensions" (checked on this stack). Scalars are averaged across workers with
    `axis=None` instead; everything else goes to Keras unchanged.
    """
    if _PATCHED:
        return
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and reduction in (
            "auto",
            "mean",
        ):

            def reduce(v):
                if isinstance(v, tf.distribute.DistributedValues) or tf.is_tensor(v):
                    rank = strategy.experimental_local_results(v)[0].shape.rank
                    if rank == 0:
                        return strategy.reduce("MEAN", v, axis=None)
                return original(v, strategy, reduction)

            return tree.map_structure(reduce, values)
        return original(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica
    _PATCHED.append(original)
