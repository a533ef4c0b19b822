"""Distillation on movie reviews: a small student with a fine-tuned MiniLM teacher, vs without.

    python benchmarks/distill_movie_reviews.py [--labeled 1000] [--transfer 2000] [--seq 48]

The setting where distillation pays: few labels, more unlabeled in-domain text.

1. Data. The movie-review training split is shuffled once (seed 0); its first `--labeled`
   sentences keep their labels, the next `--transfer` sentences are used *without* labels
   (label -1). Test accuracy is on the test split.
2. Teacher: all-MiniLM-L6-v2 (the real checkpoint, `tfzoo.text.minilm_path()`, loaded with
   `tfzoo.from_pretrained`), a new classification head, fine-tuned on the labeled sentences.
   Its weights are cached under `runs/distill_movie_reviews/` so a re-run skips this step.
3. Students: MiniLM's tokenizer, embedding and its first `--student-layers` transformer layers
   (hidden 384), as DistilBERT and TinyBERT start, mean-pooled into a new linear head (seed 1).
   Both students start from the same weights and see the same batches (labeled and unlabeled
   sentences mixed, same order, same seed) for the same number of steps with the same
   optimizer; both are trained with `tfzoo.train.Distiller`, whose hard-label loss ignores
   the label -1:
   - without teacher: `alpha=0`, the labels only (the unlabeled sentences teach nothing);
   - with teacher: `alpha`, the teacher's soft targets at temperature `T` on every sentence
     plus the labels where they exist.
   A third student trains on the labeled sentences alone in ordinary batches, same steps, as
   a second baseline.
The report goes to benchmarks/results/distill.json.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfzoo  # noqa: E402
from tfzoo import compress, data, text  # noqa: E402
from tfzoo.train import Distiller, create_optimizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUCKETS = [32]  # most sentences are under 32 tokens: pad those to 32, not to --seq


def _dataset(texts, labels, tokenizer, seq, batch, shuffle, seed=0):
    """Bucketed `(features, labels)` batches; a label -1 (unlabeled) stays -1."""
    labels = np.asarray(labels, "int32")
    # classification_dataset accepts class indices only: carry "unlabeled" as class 2.
    ds = data.classification_dataset(
        list(texts),
        np.where(labels < 0, 2, labels),
        tokenizer,
        sequence_length=seq,
        batch_size=batch,
        shuffle=shuffle,
        seed=seed,
        bucket_boundaries=BUCKETS,
    )
    return ds.map(lambda x, y: (x, tf.where(y == 2, -1, y)))


def _accuracy(model, ds):
    correct = total = 0
    for x, y in ds:
        pred = np.argmax(model.predict_on_batch(x), axis=-1)
        correct += int(np.sum(pred == y.numpy()))
        total += len(pred)
    return correct / total


def _freeze_embeddings(model):
    # The 30522 x 384 token table is most of the parameters; with a few thousand sentences it
    # is not worth updating (and Adam's dense update of it costs more than the small layers).
    model.backbone.get_layer("embeddings").trainable = False
    return model


def _teacher(args, train_texts, train_labels, tokenizer, steps_cache):
    teacher = tfzoo.from_pretrained(text.minilm_path(), task="classification", num_classes=2)
    cache = os.path.join(args.cache, f"teacher-{args.labeled}-{args.seq}-{args.epochs}.weights.h5")
    if os.path.exists(cache):
        teacher.load_weights(cache)
        return teacher, {"cached": os.path.relpath(cache, ROOT)}
    keras.utils.set_random_seed(0)
    ds = _dataset(train_texts, train_labels, tokenizer, args.seq, args.batch, shuffle=True)
    steps = steps_cache(ds) * args.epochs
    _freeze_embeddings(teacher)
    teacher.compile(
        optimizer=create_optimizer(args.teacher_lr, steps, steps // 10),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    teacher.fit(ds, epochs=args.epochs, verbose=2)
    os.makedirs(args.cache, exist_ok=True)
    teacher.save_weights(cache)
    return teacher, {
        "cached": os.path.relpath(cache, ROOT),
        "train_seconds": time.perf_counter() - start,
    }


def _student(pretrained, num_layers, seed=0):
    """MiniLM's embedding and first `num_layers` layers, mean-pooled, a new head (seed 1).

    `tfzoo.compress.first_layers_student`, the student `tfzoo.compress.recipe` distils into:
    mean pooling, not BERT's [CLS] pooler (after 2 of MiniLM's 6 layers the [CLS] state is
    nearly the same for every sentence; a student started there stayed at chance).
    """
    return compress.first_layers_student(pretrained, num_layers, num_classes=2, seed=1 + seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labeled", type=int, default=1000)
    parser.add_argument("--transfer", type=int, default=2000, help="unlabeled sentences")
    parser.add_argument("--epochs", type=int, default=2, help="teacher fine-tuning epochs")
    parser.add_argument("--student-epochs", type=int, default=1)
    parser.add_argument("--student-layers", type=int, default=2)
    parser.add_argument("--seq", type=int, default=48)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--teacher-lr", type=float, default=1e-4)
    parser.add_argument("--student-lr", type=float, default=3e-4)
    parser.add_argument("--temperature", type=float, default=3.0)
    parser.add_argument("--alpha", type=float, default=0.7)
    parser.add_argument(
        "--seed", type=int, default=0, help="students' head, dropout and batch order"
    )
    parser.add_argument("--skip-labeled-only", action="store_true", help="skip the second baseline")
    parser.add_argument("--cache", default=os.path.join(ROOT, "runs", "distill_movie_reviews"))
    parser.add_argument("--output", default=os.path.join(HERE, "results", "distill.json"))
    args = parser.parse_args()
    wall = time.perf_counter()

    reviews = data.load_movie_reviews()
    order = np.random.default_rng(0).permutation(len(reviews.train.texts))
    texts = [reviews.train.texts[i] for i in order]
    labels = np.asarray(reviews.train.labels)[order].astype("int32")
    n_l, n_u = args.labeled, args.transfer
    if n_l + n_u > len(texts):
        raise ValueError(f"--labeled + --transfer > {len(texts)} training sentences")
    tokenizer = text.tokenizer_from_pretrained(text.minilm_path(), sequence_length=args.seq)
    test_ds = _dataset(reviews.test.texts, reviews.test.labels, tokenizer, args.seq, 64, False)
    cardinality = lambda ds: int(sum(1 for _ in ds))  # noqa: E731 (bucketed: unknown length)

    teacher, teacher_info = _teacher(args, texts[:n_l], labels[:n_l], tokenizer, cardinality)
    teacher_accuracy = _accuracy(teacher, test_ds)
    print("teacher test accuracy", teacher_accuracy, flush=True)
    pretrained = tfzoo.from_pretrained(text.minilm_path())  # the students' starting point

    # The same stream of batches for both students: labeled and unlabeled (-1) sentences.
    mixed_labels = np.concatenate([labels[:n_l], -np.ones(n_u, "int32")])

    def mixed():  # a new dataset object each time: the same first-epoch order (seed 0)
        return _dataset(
            texts[: n_l + n_u], mixed_labels, tokenizer, args.seq, args.batch, True, args.seed
        )

    steps = cardinality(mixed()) * args.student_epochs

    def train_student(alpha, ds):
        student = _student(pretrained, args.student_layers, args.seed)
        keras.utils.set_random_seed(2 + args.seed)  # dropout masks
        distiller = Distiller(teacher, student, temperature=args.temperature, alpha=alpha)
        distiller.compile(optimizer=create_optimizer(args.student_lr, steps, steps // 10))
        begin = time.perf_counter()
        distiller.fit(ds, epochs=args.student_epochs, verbose=2)
        return {
            "test_accuracy": _accuracy(student, test_ds),
            "params": student.count_params(),
            "train_seconds": time.perf_counter() - begin,
        }

    results = {}

    def save(report):
        os.makedirs(os.path.dirname(args.output), exist_ok=True)
        with open(args.output + ".tmp", "w") as f:
            json.dump(report, f, indent=2)
        os.replace(args.output + ".tmp", args.output)

    def report():
        return {
            "command": "python benchmarks/distill_movie_reviews.py "
            + " ".join(
                f"--{k.replace('_', '-')} {v}"
                for k, v in vars(args).items()
                if k not in ("cache", "output", "skip_labeled_only")
            ),
            "data": {
                "labeled_train_sentences": n_l,
                "unlabeled_transfer_sentences": n_u,
                "test_sentences": len(reviews.test.texts),
                "sequence_length": args.seq,
                "buckets": BUCKETS,
            },
            "teacher": {
                "model": "all-MiniLM-L6-v2 (6 layers, hidden 384) + classification head",
                "params": teacher.count_params(),
                "epochs": args.epochs,
                "learning_rate": args.teacher_lr,
                "test_accuracy": teacher_accuracy,
                **teacher_info,
            },
            "student": {
                "model": f"MiniLM embedding + first {args.student_layers} layers (hidden 384), "
                "mean pooling, new linear head; embedding frozen",
                "steps": steps,
                "batch_size": args.batch,
                "learning_rate": args.student_lr,
                "temperature": args.temperature,
                "alpha": args.alpha,
            },
            **results,
            "seconds": time.perf_counter() - wall,
        }

    results["student_with_teacher"] = train_student(args.alpha, mixed())
    print("with teacher", results["student_with_teacher"], flush=True)
    save(report())
    results["student_without_teacher"] = train_student(0.0, mixed())
    print("without teacher", results["student_without_teacher"], flush=True)
    save(report())
    if not args.skip_labeled_only:
        # Second baseline: the labeled sentences alone, in full batches, repeated to `steps`.
        labeled_only = _dataset(
            texts[:n_l], labels[:n_l], tokenizer, args.seq, args.batch, True, args.seed
        )
        results["student_labeled_only"] = train_student(0.0, labeled_only.repeat().take(steps))
        print("labeled only", results["student_labeled_only"], flush=True)
        save(report())
    print(json.dumps(report(), indent=2))


if __name__ == "__main__":
    main()
