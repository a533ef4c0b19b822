"""The plain Keras multi-device idiom on every tfzoo task model, run in a fresh process by
tests/train/test_keras_idiom.py:

    python keras_idiom_script.py mirrored OUTPUT_JSON
    python keras_idiom_script.py worker INDEX PORT0,PORT1 OUTPUT_JSON

`mirrored` splits the CPU into two logical devices (before TensorFlow initialises them, hence a
separate process); `worker` is one of two `MultiWorkerMirroredStrategy` workers on 127.0.0.1.
Each model is built and compiled inside `strategy.scope()` and trained with a plain
`model.fit(dataset)` on int32 inputs, as the Keras distributed-training guide does: no tfzoo
helper (`tfzoo.train.prepare_for_fit`) is involved.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from cluster import main, worker_config  # noqa: E402  (this folder is first on sys.path)

GLOBAL_BATCH, STEPS, SEQ, VOCAB = 4, 2, 8, 40
# (label, zoo name, task, overrides, kind of data)
MODELS = [
    ("bert classification", "bert-tiny", "classification", {"num_classes": 3}, "bert-cls"),
    (
        "bert token classification",
        "bert-tiny",
        "token_classification",
        {"num_classes": 3},
        "bert-tokens",
    ),
    ("bert masked lm", "bert-tiny", "masked_lm", {}, "bert-tokens-vocab"),
    ("bert sentence embedding", "bert-tiny", "sentence_embedding", {}, "bert-embedding"),
    ("gpt causal lm", "gpt2", "causal_lm", {}, "lm"),
    ("llama causal lm", "llama-tiny", "causal_lm", {"num_key_value_heads": 1}, "lm"),
    (
        "local-attention causal lm",
        "gpt-mini-long",
        "causal_lm",
        {"sliding_window": 4, "attention_implementation": "local"},
        "lm",
    ),
    (
        "local-attention bert classification",
        "bert-mini-long",
        "classification",
        {"num_classes": 3, "sliding_window": 4, "attention_implementation": "local"},
        "bert-cls",
    ),
    ("seq2seq lm", "transformer-base", "seq2seq_lm", {}, "seq2seq"),
    ("vit classification", "vit-tiny", "classification", {"num_classes": 3}, "images"),
]


def _dataset(kind):
    rng = np.random.default_rng(0)
    n = GLOBAL_BATCH * STEPS
    ids = rng.integers(1, VOCAB, (n, SEQ)).astype("int32")
    mask = np.ones_like(ids)
    if kind == "images":
        x = {"images": rng.normal(size=(n, 16, 16, 3)).astype("float32")}
        y = (np.arange(n) % 3).astype("int32")
    elif kind == "seq2seq":
        x = {
            "encoder_token_ids": ids,
            "encoder_padding_mask": mask,
            "decoder_token_ids": ids,
            "decoder_padding_mask": mask,
        }
        y = np.roll(ids, -1, axis=1)
    elif kind == "lm":
        x = {"token_ids": ids, "padding_mask": mask}
        y = np.roll(ids, -1, axis=1)
    else:
        x = {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(ids)}
        y = {
            "bert-cls": (ids[:, 0] % 3).astype("int32"),
            "bert-tokens": (ids % 3).astype("int32"),
            "bert-tokens-vocab": ids,
            "bert-embedding": rng.normal(size=(n, 16)).astype("float32"),
        }[kind]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)


def _train_all(strategy):
    import keras

    import tfzoo
    from tfzoo.testing import TINY_IMAGE_SIZES, TINY_TEXT_SIZES

    results = {}
    for label, name, task, overrides, kind in MODELS:
        keras.utils.set_random_seed(0)
        config = dict(TINY_TEXT_SIZES, vocabulary_size=VOCAB, max_sequence_length=SEQ)
        if kind == "images":
            config = dict(TINY_IMAGE_SIZES, patch_size=8)
        with strategy.scope():
            model = tfzoo.build(name, task=task, **config, **overrides)
            loss = (
                keras.losses.MeanSquaredError()
                if kind == "bert-embedding"
                else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            )
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
        start = [w.copy() for w in model.get_weights()]
        history = model.fit(_dataset(kind), epochs=1, verbose=0)
        evaluation = model.evaluate(_dataset(kind), verbose=0, return_dict=True)
        moved = max(
            float(np.max(np.abs(a - b))) for a, b in zip(start, model.get_weights()) if a.size
        )
        results[label] = {
            "loss": [float(v) for v in history.history["loss"]],
            "eval_loss": float(evaluation["loss"]),
            "max_weight_change": moved,
            "checksum": float(sum(np.sum(np.abs(w)) for w in model.get_weights())),
        }
        print(label, results[label]["loss"], flush=True)  # progress, for a slow machine
    return results


def mirrored(output):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = {"replicas": strategy.num_replicas_in_sync, "models": _train_all(strategy)}
    with open(output, "w") as f:
        json.dump(result, f)


def worker(index, ports, output):
    os.environ["TF_CONFIG"] = worker_config(index, ports)
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    result = {"replicas": strategy.num_replicas_in_sync, "models": _train_all(strategy)}
    with open(output, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(mirrored, worker)
