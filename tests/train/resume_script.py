"""Trains a tiny zoo BERT classifier with ResumableCheckpoint (run as a subprocess by the tests).

    python resume_script.py CHECKPOINT_DIR OUTPUT_NPZ [SECONDS_PER_STEP]

Deterministic: fixed data, fixed seeds, op determinism on. Sleeping after each step gives the
test time to SIGKILL the process mid-epoch.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfzoo.testing import tiny_model, tiny_token_data  # noqa: E402
from tfzoo.train import EpochData, ResumableCheckpoint, create_optimizer  # noqa: E402

EPOCHS, EXAMPLES, BATCH, SEQ = 2, 40, 4, 12  # 10 steps per epoch


def main(directory, output, seconds_per_step=0.0):
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    x = tiny_token_data(EXAMPLES, SEQ, vocabulary_size=100, min_token_id=1)
    y = (x["token_ids"][:, 0] > 50).astype("int32")
    model = tiny_model(
        "bert", "classification", vocabulary_size=100, max_sequence_length=SEQ, dropout=0.1
    )
    data = EpochData(x, y, batch_size=BATCH, seed=3)
    model.compile(
        optimizer=create_optimizer(
            1e-3, num_train_steps=EPOCHS * data.steps_per_epoch, warmup_steps=2
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    checkpoint = ResumableCheckpoint(directory, save_every_steps=3, keep=2, data=data)
    callbacks = [checkpoint]
    if seconds_per_step:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs: time.sleep(seconds_per_step)
            )
        )
    history = model.fit(data.dataset, epochs=EPOCHS, callbacks=callbacks, verbose=0)
    weights = {f"w{i}": v.numpy() for i, v in enumerate(model.weights)}
    np.savez(
        output,
        loss=np.asarray(history.history["loss"]),
        accuracy=np.asarray(history.history["accuracy"]),
        restored=np.asarray(str(checkpoint.restored_from)),
        **weights,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
