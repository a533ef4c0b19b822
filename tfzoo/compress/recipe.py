"""One call that chains distill -> prune -> QAT -> export and measures the file.

`recipe(model, train, test, ...)` takes a fine-tuned classifier and the data its user already
has (tokenized `(inputs, labels)` arrays, optional unlabeled transfer inputs), runs the stages
asked for, exports the result to TFLite with `tfzoo.export` and returns a `RecipeResult` whose
`row` is one line of a results table: LiteRT test accuracy, file size, latency, verification
and which matmuls are int8. `benchmarks/compression_results.py` builds every one of its rows
with it.

Stages, in this fixed order (each optional):

1. distill: a student made of the model's first `student_layers` blocks, mean-pooled
   (`first_layers_student`), trained with `tfzoo.train.Distiller` on the labeled sentences
   plus the unlabeled `transfer` inputs (soft targets only there).
2. prune: `"structured"` (heads and FFN neurons, `prune_structured`), `"layers"` (keep
   `keep_layers` blocks, `drop_layers`) or `"magnitude"` (gradual sparsity). Structured and
   layer pruning recover with distillation from the unpruned model: its logits and every kept
   block's hidden states (`recover="distill"`), or with the labels alone (`recover="labels"`).
   Magnitude pruning (gradual, to `sparsity`) trains the same way while its masks tighten:
   distillation from the dense model (`recover="distill"`) or the labels.
3. qat: `prepare_qat`, then a fine-tune on the labels: `scheme="mixed"` for `quantize="int8"`
   (the post-training int8 file's layout: as small and as fast), `"matmuls"` for `"int8-full"`.
4. export: `quantize` `None` (float32), `"dynamic"`, `"int8"` or `"int8-full"`; with
   `"int8-full"` an op left in float raises a `ValueError` naming it.
"""

import dataclasses
import json
import os
import time

import keras
import numpy as np

PRUNE_MODES = ("structured", "layers", "magnitude")
QUANTIZE_MODES = (None, "dynamic", "int8", "int8-full")
RECOVERY = ("distill", "labels")
SPEC_HELP = (
    "comma-separated steps in this order: distill:LAYERS, then one of structured:HEADS[:FFN] "
    "(fractions < 1 or whole counts per block), layers:KEEP or magnitude:SPARSITY, then qat, "
    "then one of float32, dynamic, int8, int8-full; e.g. 'structured:0.4:0.4,int8'"
)


@dataclasses.dataclass
class RecipeResult:
    """What `recipe` returns: the compressed Keras model, its table row, the stages' log."""

    model: keras.Model
    row: dict
    stages: list
    path: str = None


def parse_recipe(spec):
    """`"distill:2,structured:0.4:0.4,qat,int8"` -> keyword arguments of `recipe`.

    Raises a one-line `ValueError` for an unknown step, a bad number or a step out of order.
    """
    order = {"distill": 0, "structured": 1, "layers": 1, "magnitude": 1, "qat": 2}
    order.update({q: 3 for q in ("float32", "dynamic", "int8", "int8-full")})
    kwargs, last = {"quantize": None}, -1
    for step in [s.strip() for s in str(spec).split(",") if s.strip()]:
        name, *values = step.split(":")
        if name not in order:
            raise ValueError(f"recipe step {step!r} is unknown; {SPEC_HELP}.")
        if order[name] <= last:
            raise ValueError(f"recipe step {step!r} is out of order or repeated; {SPEC_HELP}.")
        last = order[name]
        try:
            numbers = [float(v) if "." in v else int(v) for v in values]
        except ValueError:
            raise ValueError(
                f"recipe step {step!r}: {values} are not numbers; {SPEC_HELP}."
            ) from None
        want = {"distill": (1,), "layers": (1,), "magnitude": (1,), "structured": (1, 2)}
        if len(numbers) not in want.get(name, (0,)):
            raise ValueError(f"recipe step {step!r} has the wrong number of values; {SPEC_HELP}.")
        if name == "distill":
            kwargs["student_layers"] = numbers[0]
        elif name == "structured":
            kwargs.update(prune="structured", heads=numbers[0], ffn=numbers[-1])
        elif name == "layers":
            kwargs.update(prune="layers", keep_layers=numbers[0])
        elif name == "magnitude":
            kwargs.update(prune="magnitude", sparsity=numbers[0])
        elif name == "qat":
            kwargs["qat"] = True
        else:
            kwargs["quantize"] = None if name == "float32" else name
    if last < 0:
        raise ValueError(f"recipe {spec!r} has no steps; {SPEC_HELP}.")
    return kwargs


def _check(model, train, student_layers, prune, heads, ffn, keep_layers, sparsity, recover,
           qat, quantize):  # fmt: skip
    """Every incompatible combination fails here, before any training, in one line."""
    from tfzoo.compress.structured import check_not_qat

    if prune not in (None, *PRUNE_MODES):
        raise ValueError(f"prune={prune!r}: use one of {PRUNE_MODES} or None.")
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize={quantize!r}: use one of {QUANTIZE_MODES}.")
    if recover not in RECOVERY:
        raise ValueError(f"recover={recover!r}: use one of {RECOVERY}.")
    if prune or student_layers:
        check_not_qat(model, "recipe")
    if qat and quantize not in ("int8", "int8-full"):
        raise ValueError(
            f"qat=True makes an int8 file; use quantize='int8' or 'int8-full', not {quantize!r}."
        )
    trains = bool(student_layers or prune or qat)
    x, y = train if isinstance(train, (tuple, list)) else (train, None)
    if trains and y is None:
        raise ValueError(
            "recipe: distill / prune / qat train on labels: pass train=(inputs, labels)."
        )
    backbone = getattr(model, "backbone", model)
    layers = getattr(backbone, "num_layers", None)
    if student_layers is not None and (layers is None or not 1 <= student_layers < layers):
        raise ValueError(
            f"distill:{student_layers}: the student keeps 1..{(layers or 1) - 1} of the model's {layers} layers."
        )
    if prune == "layers":
        after = student_layers or layers
        if keep_layers is None or not 1 <= keep_layers < after:
            raise ValueError(f"layers:{keep_layers}: keep 1..{after - 1} of the {after} layers.")
    if prune == "structured":
        for value, name, units in ((heads, "heads", backbone.num_heads),
                                   (ffn, "ffn", backbone.intermediate_dim)):  # fmt: skip
            if isinstance(value, float) and not 0.0 <= value < 1.0:
                raise ValueError(
                    f"structured {name}={value}: give a fraction in [0, 1) or a whole count."
                )
            if isinstance(value, int) and value >= units:
                raise ValueError(
                    f"structured pruning of {value} {name} per layer, but the model has only "
                    f"{units}; remove at most {units - 1} (or give a fraction < 1)."
                )
    if prune == "magnitude" and not 0.0 < sparsity < 1.0:
        raise ValueError(f"magnitude:{sparsity}: the sparsity must be in (0, 1).")
    return x, y


def _dataset(x, y, batch_size, seed=0):
    import tensorflow as tf

    n = len(y)
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(n, seed=seed).batch(batch_size)


def _optimizer(learning_rate, steps):
    """AdamW with a linear decay to 5% over `steps` (the demo's recipe)."""
    schedule = keras.optimizers.schedules.PolynomialDecay(
        learning_rate, max(steps, 1), learning_rate * 0.05
    )
    return keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0)


def _compile(model, learning_rate, steps, jit_compile="auto"):
    model.compile(
        optimizer=_optimizer(learning_rate, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def _distill(teacher, student, ds, steps, opts, hidden_layers=None, callbacks=None):
    """`Distiller` fit; hidden-state projections between equal widths start as the identity."""
    from tfzoo.train import Distiller

    trainable = teacher.trainable  # the Distiller freezes the teacher (the caller's model)
    distiller = Distiller(
        teacher, student, temperature=opts["temperature"], alpha=opts["alpha"],
        hidden_layers=hidden_layers, hidden_weight=opts["hidden_weight"],
    )  # fmt: skip
    for projection in distiller.projections:
        width = projection.kernel.shape
        if width[0] == width[1]:
            projection.kernel.assign(np.eye(width[0], dtype="float32"))
    distiller.compile(
        optimizer=_optimizer(opts["learning_rate"], steps), jit_compile=opts["jit_compile"]
    )
    try:
        distiller.fit(ds, epochs=opts["epochs"], verbose=opts["verbose"], callbacks=callbacks)
    finally:
        teacher.trainable = trainable
    return student


def keras_accuracy(model, x, y):
    logits = model.predict(x, batch_size=64, verbose=0)
    return float((np.asarray(logits).argmax(-1) == np.asarray(y)).mean())


# fmt: off
def recipe(
    model, train, test=None, *, transfer=None,
    student_layers=None,                                  # 1. distill
    prune=None, heads=0.4, ffn=0.4, keep_layers=None, sparsity=0.5, recover="distill",  # 2.
    qat=False,                                            # 3. QAT
    quantize="int8", path=None,                           # 4. export
    epochs=1, batch_size=32, learning_rate=5e-5, student_learning_rate=3e-4,
    temperature=3.0, alpha=0.7, hidden_weight=0.1,
    calibration_examples=100, latency=None, latency_runs=20, threads=2,
    cache_dir=None, jit_compile="auto", verbose=0,
):
    # fmt: on
    """Compresses a fine-tuned classifier (distill -> prune -> QAT -> export) and measures it.

    Args:
        model: a fine-tuned tfzoo classifier (its backbone a BERT-style encoder for the
            distill / structured / layers stages). Not changed.
        train: `(inputs, labels)`: a dict of int32 arrays `(n, sequence_length)` and int labels.
            Training data of the stages, and the first `calibration_examples` rows calibrate
            the int8 conversion. `inputs` alone is enough when no stage trains.
        test: `(inputs, labels)` or `None`: the LiteRT (and Keras) test accuracy.
        transfer: dict of unlabeled inputs or `None`: extra sentences for distillation.
        student_layers: int or `None`. Distill into the model's first blocks, mean-pooled.
        prune: `None`, `"structured"`, `"layers"` or `"magnitude"`.
        heads, ffn: for `"structured"`: fractions (< 1) of heads and FFN neurons to remove, or
            whole counts per block. Default `0.4` each.
        keep_layers: int. For `"layers"`: blocks to keep (chosen by `layer_importance`).
        sparsity: float. For `"magnitude"`. Defaults to `0.5`.
        recover: `"distill"` (logits + hidden states of the unpruned model) or `"labels"`:
            how structured pruning and layer dropping recover, and how magnitude pruning
            trains while it prunes.
        qat: bool. Quantization-aware fine-tune before export (needs an int8 `quantize`).
        quantize: `None`, `"dynamic"`, `"int8"` or `"int8-full"`. Defaults to `"int8"`.
        path: the `.tflite` path, or `None` to skip export (the row then has Keras numbers).
        epochs, batch_size, learning_rate: of every training stage (`student_learning_rate`
            for the distilled student).
        temperature, alpha, hidden_weight: distillation settings.
        calibration_examples: int. Training rows that calibrate the int8 conversion.
        latency: `None` (time the accuracy file on one test row) or `(sample, calibration,
            sequence_length)` to export a second file at another length for timing.
        latency_runs, threads: LiteRT timing.
        cache_dir: folder to keep each stage's model in (`.keras`) and reuse on a re-run.
        jit_compile: of the training stages (QAT always runs without XLA). `False` saves the
            compilation on tiny models. Defaults to `"auto"`.
        verbose: Keras verbosity of the training stages.

    Returns:
        A `RecipeResult`: `.model` (the compressed Keras model), `.row` (the table row),
        `.stages` (each stage's seconds and Keras test accuracy), `.path`.

    Example:

    >>> result = tfzoo.compress.recipe(model, (x, y), (x_test, y_test), prune="structured",
    ...                                heads=0.4, ffn=0.4, quantize="int8", path="small.tflite")
    >>> result.row["tflite_test_accuracy"], result.row["file_size_mb"]
    """
    from tfzoo.compress import layer_drop, pruning, schedules, structured
    from tfzoo.compress import qat as qat_module
    from tfzoo.compress import student as student_module
    from tfzoo.compress.wrapped_model import copy_model

    x, y = _check(model, train, student_layers, prune, heads, ffn, keep_layers, sparsity,
                  recover, qat, quantize)  # fmt: skip
    opts = dict(epochs=epochs, temperature=temperature, alpha=alpha, verbose=verbose,
                hidden_weight=hidden_weight, learning_rate=learning_rate,
                jit_compile=jit_compile)  # fmt: skip
    steps = int(np.ceil(len(y) / batch_size)) * epochs if y is not None else 0
    stages, current = [], model

    def stage(name, key, build):
        nonlocal current
        cached = os.path.join(cache_dir, f"{len(stages)}_{key}.keras") if cache_dir else None
        start, built = time.perf_counter(), False
        if cached and os.path.exists(cached):
            current = keras.saving.load_model(cached)
        else:
            built = True
            keras.utils.set_random_seed(0)
            current = build(current)
            if cached:
                os.makedirs(cache_dir, exist_ok=True)
                current.save(cached[: -len(".keras")] + ".tmp.keras")
                os.replace(cached[: -len(".keras")] + ".tmp.keras", cached)
        info = {"stage": name, "seconds": time.perf_counter() - start, "cached": not built}
        if test is not None:
            info["keras_test_accuracy"] = keras_accuracy(current, *test)
        stages.append(info)

    if student_layers:

        def build_student(teacher):
            student = student_module.first_layers_student(teacher, student_layers)
            xs, ys = x, np.asarray(y, "int32")
            if transfer is not None:
                xs = {k: np.concatenate([x[k], transfer[k]]) for k in x}
                ys = np.concatenate([ys, -np.ones(len(transfer["token_ids"]), "int32")])
            ds = _dataset(xs, ys, batch_size)
            n_steps = int(np.ceil(len(ys) / batch_size)) * epochs
            return _distill(teacher, student, ds, n_steps,
                            dict(opts, learning_rate=student_learning_rate))  # fmt: skip

        stage(f"distill into {student_layers} layers", f"distill{student_layers}", build_student)

    if prune in ("structured", "layers"):

        def build_pruned(teacher):
            if prune == "structured":
                counts = {}
                for value, frac, count in ((heads, "heads_fraction", "remove_heads"),
                                           (ffn, "ffn_fraction", "remove_neurons")):  # fmt: skip
                    counts[count if isinstance(value, int) else frac] = value
                small = structured.prune_structured(teacher, **counts)
                pairs = [(i, i) for i in range(teacher.backbone.num_layers)]
            else:
                sample = _dataset(x, np.asarray(y), batch_size)
                small, kept = layer_drop.drop_layers(teacher, keep_layers, data=sample)
                pairs = [(i, j) for j, i in enumerate(kept)]
            ds = _dataset(x, np.asarray(y, "int32"), batch_size)
            if recover == "distill":
                return _distill(teacher, small, ds, steps, opts, hidden_layers=pairs)
            _compile(small, learning_rate, steps, jit_compile)
            small.fit(ds, epochs=epochs, verbose=verbose)
            return small

        what = f"{heads}h{ffn}f" if prune == "structured" else f"keep{keep_layers}"
        stage(f"{prune} pruning ({what}), recovery: {recover}", f"{prune}_{what}_{recover}",
              build_pruned)  # fmt: skip
    elif prune == "magnitude":

        def build_sparse(dense):
            schedule = schedules.PolynomialDecay(
                0.0, sparsity, begin_step=0, end_step=max(1, int(steps * 0.6)),
                frequency=max(1, steps // 20),
            )  # fmt: skip
            # prune_low_magnitude shares the model's variables: prune a copy, not the caller's.
            wrapped = pruning.prune_low_magnitude(copy_model(dense), schedule)
            ds = _dataset(x, np.asarray(y, "int32"), batch_size)
            if recover == "distill":  # the pruned copy imitates the dense model as it goes
                pairs = [(i, i) for i in range(dense.backbone.num_layers)]
                _distill(dense, wrapped.wrapped, ds, steps,
                         dict(opts, learning_rate=learning_rate / 2), hidden_layers=pairs,
                         callbacks=[pruning.UpdatePruningStep(wrapped)])  # fmt: skip
            else:
                _compile(wrapped, learning_rate / 2, steps, jit_compile)
                wrapped.fit(ds, epochs=epochs, verbose=verbose,
                            callbacks=[pruning.UpdatePruningStep()])  # fmt: skip
            return pruning.strip_pruning(wrapped)

        stage(f"magnitude pruning to {sparsity}, recovery: {recover}",
              f"magnitude{sparsity}_{recover}", build_sparse)  # fmt: skip

    if qat:

        # "int8" trains for the post-training int8 layout (same file size and speed);
        # "int8-full" for every matmul in int8.
        scheme = "mixed" if quantize == "int8" else "matmuls"

        def build_qat(float_model):
            q = qat_module.prepare_qat(float_model, scheme=scheme)
            # No XLA: the fake-quant range updates are assignments in the step.
            _compile(q, learning_rate / 2, steps, jit_compile=False)
            q.fit(_dataset(x, np.asarray(y), batch_size), epochs=epochs, verbose=verbose)
            return q

        stage(f"quantization-aware training ({scheme})", f"qat_{scheme}", build_qat)

    keras_acc = None
    if test is not None:  # the last stage measured it already
        keras_acc = stages[-1]["keras_test_accuracy"] if stages else keras_accuracy(current, *test)
    row = {"recipe": [s["stage"] for s in stages], "quantize": quantize,
           "keras_test_accuracy": keras_acc, "params": int(current.count_params()),
           "stages": stages}  # fmt: skip
    if path is not None:
        n_cal = min(calibration_examples, len(next(iter(x.values()))))
        calibration = [{k: v[i : i + 1] for k, v in x.items()} for i in range(n_cal)]
        row.update(measure_export(current, path, quantize, calibration, test, latency,
                                  latency_runs, threads))  # fmt: skip
    return RecipeResult(current, row, stages, row.get("path"))


def _export(model, path, quantize, calibration, sample, threads):
    """`tfzoo.export` to TFLite; a failed verification is recorded in the report, not raised."""
    from tfzoo.export import export
    from tfzoo.export.verification import ExportVerificationError

    try:
        report = export(
            model, path, quantize=quantize, representative_data=calibration,
            sequence_length=int(next(iter(sample.values())).shape[1]), sample=sample,
            threads=threads, overwrite=True, print_report=False,
        )  # fmt: skip
    except ExportVerificationError as e:
        report = e.report
    if quantize == "int8-full":
        from tfzoo.compress.oplist import check_integer_only

        check_integer_only(report.path)
    return report


def tflite_accuracy(path, x, y, threads=2):
    """Test accuracy in LiteRT, one row per invocation (the on-device shape)."""
    from tfzoo.export import formats

    run = formats.FORMATS["tflite"].runner(path, threads)
    y = np.asarray(y)
    predictions = np.empty(len(y), "int64")
    for i in range(len(y)):
        out = run({k: v[i : i + 1] for k, v in x.items()})
        predictions[i] = np.asarray(out["logits"]).argmax(-1)[0]
    return float((predictions == y).mean())


def measure_export(model, path, quantize, calibration, test=None, latency=None, latency_runs=20,
                   threads=2):  # fmt: skip
    """Exports `model` and measures the file: the results-table columns of a compressed model.

    Args:
        model: the Keras model.
        path: the `.tflite` path (a `_s{length}` file beside it is written for `latency`).
        quantize: as in `tfzoo.export`.
        calibration: list of single-row input dicts (calibration and the verification sample).
        test: `(inputs, labels)` or `None`.
        latency: `None` or `(sample, calibration, sequence_length)` (see `recipe`).
        latency_runs, threads: LiteRT timing.

    Returns:
        dict: `path`, `tflite_test_accuracy`, `file_size_bytes`, `file_size_mb`, `latency_ms`,
        `latency_sequence_length`, `verified`, `matmul_dtypes`, `xnnpack_partitions`,
        `tflite_ops`, `notes`.
    """
    from tfzoo.export import formats

    sample = {k: v[:2] for k, v in test[0].items()} if test is not None else calibration[0]
    report = _export(model, path, quantize, calibration, sample, threads)
    row = {
        "path": report.path,
        "file_size_bytes": int(report.file_size),
        "file_size_mb": report.file_size / 1e6,
        "matmul_dtypes": report.ops.get("matmul_dtypes"),
        "tflite_ops": report.ops["count"],
        "notes": list(report.notes),
    }
    if test is not None:
        row["tflite_test_accuracy"] = tflite_accuracy(report.path, *test, threads=threads)
    timed, timing_sample = report, {k: v[:1] for k, v in sample.items()}
    if latency is not None:
        timing_sample, long_calibration, length = latency
        stem = os.path.splitext(path)[0]
        timed = _export(model, f"{stem}_s{length}.tflite", quantize, long_calibration,
                        timing_sample, threads)  # fmt: skip
    run = formats.FORMATS["tflite"].runner(timed.path, threads)
    row.update(
        latency_path=timed.path,
        latency_ms=formats.median_latency_ms(run, timing_sample, runs=latency_runs, warmup=5),
        latency_sequence_length=int(next(iter(timing_sample.values())).shape[1]),
        verified=bool(report.verified and timed.verified),
        xnnpack_partitions=timed.ops.get("xnnpack_partitions"),
    )
    return row


def write_row(result, path):
    """Writes `result.row` as JSON (the CLI's `--row` file)."""
    with open(path, "w") as f:
        json.dump(result.row, f, indent=2, default=str)
        f.write("\n")
