"""Distributed training checks, run in a fresh process by tests/train/test_distribute.py.

    python distribute_script.py mirrored OUTPUT_JSON
    python distribute_script.py worker INDEX PORT0,PORT1 OUTPUT_NPZ

`mirrored` splits the CPU into two logical devices (this must happen before TensorFlow
initialises its devices, hence a separate process) and trains the same tiny zoo BERT classifier,
from the same initial weights on the same global batches, on one device and with
MirroredStrategy over the two. `worker` is one of two MultiWorkerMirroredStrategy workers on
127.0.0.1.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GLOBAL_BATCH, STEPS, SEQ = 8, 6, 12


def _data():
    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * STEPS
    x = {
        "token_ids": rng.integers(1, 100, (n, SEQ)).astype("int32"),
        "padding_mask": np.ones((n, SEQ), "int32"),
        "segment_ids": np.zeros((n, SEQ), "int32"),
    }
    y = (x["token_ids"][:, 0] > 50).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)


def _train(strategy, initial=None):
    import keras

    import tfzoo
    from tfzoo.train import create_optimizer, prepare_for_fit

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = tfzoo.build(
            "bert-tiny",
            task="classification",
            num_classes=2,
            num_layers=1,
            hidden_dim=16,
            num_heads=2,
            intermediate_dim=32,
            vocabulary_size=100,
            max_sequence_length=SEQ,
            dropout=0.0,
        )
        if initial is not None:
            model.set_weights(initial)
        model.compile(
            optimizer=create_optimizer(1e-3, STEPS, 1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        prepare_for_fit(model, strategy, next(iter(_data())))
    start = [w.copy() for w in model.get_weights()]
    with strategy.scope():
        history = model.fit(_data(), epochs=2, verbose=0)
    return model, start, history.history["loss"]


def mirrored(output):
    from tfzoo.train import split_cpu, strategy

    devices = split_cpu(2)
    single_model, start, single_loss = _train(strategy("cpu"))
    mirrored_strategy = strategy("mirrored")
    mirrored_model, _, mirrored_loss = _train(mirrored_strategy, initial=start)
    diffs = [
        float(np.max(np.abs(a - b)))
        for a, b in zip(single_model.get_weights(), mirrored_model.get_weights())
    ]
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(start, single_model.get_weights()))
    with open(output, "w") as f:
        json.dump(
            {
                "devices": devices,
                "replicas": mirrored_strategy.num_replicas_in_sync,
                "strategy": type(mirrored_strategy).__name__,
                "single_loss": single_loss,
                "mirrored_loss": mirrored_loss,
                "max_weight_diff": max(diffs),
                "max_weight_change": moved,
            },
            f,
        )


def worker(index, ports, output):
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports.split(",")]},
            "task": {"type": "worker", "index": int(index)},
        }
    )
    from tfzoo.train import strategy, worker_info

    mwms = strategy("multi_worker", communication="ring")
    model, _, loss = _train(mwms)
    np.savez(
        output,
        loss=np.asarray(loss),
        workers=np.asarray(worker_info()),
        replicas=mwms.num_replicas_in_sync,
        **{f"w{i}": w for i, w in enumerate(model.get_weights())},
    )


if __name__ == "__main__":
    if sys.argv[1] == "mirrored":
        mirrored(sys.argv[2])
    else:
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
