"""Distributed training checks, run in a fresh process by tests/train/test_distribute.py.

    python distribute_script.py mirrored OUTPUT_JSON
    python distribute_script.py worker INDEX PORT0,PORT1 OUTPUT_NPZ

`mirrored` splits the CPU into two logical devices (this must happen before TensorFlow
initialises its devices, hence a separate process) and trains, from the same initial weights on
the same global batches, on one device and with MirroredStrategy over the two: a tiny zoo BERT
classifier, and a `Distiller` on padded batches with unlabeled rows (global-batch loss means).
`worker` is one of two MultiWorkerMirroredStrategy workers on 127.0.0.1.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from cluster import main, worker_config  # noqa: E402  (this folder is first on sys.path)

GLOBAL_BATCH, STEPS, SEQ = 8, 4, 12


def _data(distill=False):
    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * STEPS
    lengths = np.full(n, SEQ)
    if distill:
        # Uneven padding, and a batch's unlabeled rows (-1) all in its first half: each
        # replica holds a different number of real tokens and labels, so a per-replica mean
        # would weigh the two halves differently from the global-batch mean.
        lengths = rng.integers(2, SEQ + 1, n)
    mask = np.arange(SEQ)[None, :] < lengths[:, None]
    x = {
        "token_ids": np.where(mask, rng.integers(1, 100, (n, SEQ)), 0).astype("int32"),
        "padding_mask": mask.astype("int32"),
        "segment_ids": np.zeros((n, SEQ), "int32"),
    }
    y = (x["token_ids"][:, 0] > 50).astype("int32")
    if distill:
        y[(np.arange(n) % GLOBAL_BATCH) < 3] = -1
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)


def _bert(width):
    from tfzoo.testing import tiny_model

    return tiny_model(
        "bert",
        "classification",
        hidden_dim=width,
        intermediate_dim=2 * width,
        vocabulary_size=100,
        max_sequence_length=SEQ,
        dropout=0.0,  # the backbone's and the head's (one replica must not draw other masks)
    )


def _train(strategy, initial=None, distill=False):
    import keras

    from tfzoo.train import Distiller, create_optimizer, prepare_for_fit

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = _bert(16)
        if distill:
            teacher = _bert(24)
            model = Distiller(teacher, model, temperature=2.0, alpha=0.5, hidden_layers=[(0, 0)])
        if initial is not None:
            model.set_weights(initial)
        if distill:
            # SGD: the weights then move by the gradients themselves. (Adam divides each
            # gradient by its own size, so an entry that is ~0 up to rounding, different on 1
            # and 2 devices, still moves by ~lr: 5e-4 apart after 4 steps, measured.)
            model.compile(optimizer=keras.optimizers.SGD(0.1))
        else:
            model.compile(
                optimizer=create_optimizer(1e-3, STEPS, 1),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
        prepare_for_fit(model, strategy, next(iter(_data(distill))))
    start = [w.copy() for w in model.get_weights()]
    with strategy.scope():
        history = model.fit(_data(distill), epochs=1, verbose=0)
    return model, start, history.history


def mirrored(output):
    from tfzoo.train import split_cpu, strategy

    devices = split_cpu(2)
    mirrored_strategy = strategy("mirrored")
    result = {
        "devices": devices,
        "replicas": mirrored_strategy.num_replicas_in_sync,
        "strategy": type(mirrored_strategy).__name__,
    }
    for name, distill in (("classifier", False), ("distiller", True)):
        single_model, start, single = _train(strategy("cpu"), distill=distill)
        mirrored_model, _, mirror = _train(mirrored_strategy, initial=start, distill=distill)
        diffs = [
            float(np.max(np.abs(a - b)))
            for a, b in zip(single_model.get_weights(), mirrored_model.get_weights())
        ]
        moved = max(float(np.max(np.abs(a - b))) for a, b in zip(start, single_model.get_weights()))
        result[name] = {
            "single": single,
            "mirrored": mirror,
            "max_weight_diff": max(diffs),
            "max_weight_change": moved,
        }
    with open(output, "w") as f:
        json.dump(result, f)


def worker(index, ports, output):
    os.environ["TF_CONFIG"] = worker_config(index, ports)
    from tfzoo.train import strategy, worker_info

    mwms = strategy("multi_worker", communication="ring")
    model, _, history = _train(mwms)
    np.savez(
        output,
        loss=np.asarray(history["loss"]),
        workers=np.asarray(worker_info()),
        replicas=mwms.num_replicas_in_sync,
        **{f"w{i}": w for i, w in enumerate(model.get_weights())},
    )


if __name__ == "__main__":
    main(mirrored, worker)
