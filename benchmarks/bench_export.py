"""Export latency and size: bert-mini at batch 1, sequence 128, 2 threads.

    python benchmarks/bench_export.py [--runs 50] [--out benchmarks/results/export.json]

Measures, on one machine in one run: Keras `tf.function(jit_compile=True)`, LiteRT (XNNPACK)
float32 / dynamic-range int8 / post-training int8 (`quantize="int8"`: int8 matmuls, float
LayerNorm/softmax/residuals) / strict full-integer int8 (`quantize="int8-full"`), ONNX Runtime
float32. The int8 files are calibrated on 32 random-id sequences with the real padding pattern
(right padding, random lengths). Every artifact is written and checked by `tfzoo.export`; the
table records whether it passed its default tolerance. All runners are timed round-robin
(`--rounds` rounds of `runs / rounds` calls each), so load from other jobs on a shared machine
hits every artifact alike: compare the ratios, measured in the same run. Random weights:
latency and size do not depend on them. Writes JSON and a bar plot `docs/img/export_latency.png`.
"""

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

BATCH, SEQ, THREADS = 1, 128, 2


def _interleaved_ms(fns, runs, rounds, warmup=5):
    """Median ms of each function, timed round-robin: `rounds` x (`runs // rounds` calls each)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: float(np.median(v)) for name, v in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/export.json")
    parser.add_argument("--plot", default="docs/img/export_latency.png")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import tfzoo
    from tfzoo.export import ExportVerificationError, export, formats

    model = tfzoo.build("bert-mini", task="classification", num_classes=2)
    rng = np.random.default_rng(0)
    inputs = {
        "token_ids": rng.integers(1, 30522, (BATCH, SEQ)).astype("int32"),
        "padding_mask": np.ones((BATCH, SEQ), "int32"),
        "segment_ids": np.zeros((BATCH, SEQ), "int32"),
    }

    def padded(length):
        # The real padding pattern: `length` tokens, then zeros (ids and mask) to SEQ.
        mask = (np.arange(SEQ) < length).astype("int32")[None]
        ids = rng.integers(1, 30522, (1, SEQ)).astype("int32") * mask
        return {"token_ids": ids, "padding_mask": mask, "segment_ids": np.zeros_like(mask)}

    calibration = [padded(int(n)) for n in rng.integers(16, SEQ + 1, 32)]
    results = {}

    keras_fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    timed = {"keras_xla": lambda: keras_fn(tensors)}
    results["keras_xla"] = {}

    runners = {"tflite": formats.FORMATS["tflite"].runner, "onnx": formats.FORMATS["onnx"].runner}
    with tempfile.TemporaryDirectory() as folder:
        for key, suffix, quantize in [
            ("tflite_fp32", ".tflite", None),
            ("tflite_dynamic", ".tflite", "dynamic"),
            ("tflite_int8", ".tflite", "int8"),
            ("tflite_int8_full", ".tflite", "int8-full"),
            ("onnx_fp32", ".onnx", None),
        ]:
            path = os.path.join(folder, key + suffix)
            start = time.perf_counter()
            try:
                report = export(
                    model,
                    path,
                    quantize=quantize,
                    sequence_length=SEQ,
                    sample=inputs,
                    representative_data=calibration if "int8" in (quantize or "") else None,
                    threads=THREADS,
                    print_report=False,
                )
            except ExportVerificationError as e:
                report = e.report
            run = runners[report.format](report.path, THREADS)
            out = report.outputs[0]
            timed[key] = lambda run=run: run(inputs)
            results[key] = {
                "latency_ms_at_export": report.latency_ms,
                "file_size_bytes": report.file_size,
                "verified": report.verified,
                "max_abs_diff": out["max_abs_diff"],
                "cosine": out["cosine"],
                "export_seconds": time.perf_counter() - start,
                "ops": report.ops["count"],
                "xnnpack_partitions": report.ops.get("xnnpack_partitions"),
                "matmul_dtypes": report.ops.get("matmul_dtypes"),
                "notes": report.notes,
            }
            print(key, json.dumps(results[key]), flush=True)
        # Timed together, after every artifact is written, while the temporary folder exists.
        for key, value in _interleaved_ms(timed, args.runs, args.rounds).items():
            results[key]["latency_ms"] = value
    print(json.dumps({k: round(v["latency_ms"], 2) for k, v in results.items()}))

    fp32, onnx = results["tflite_fp32"], results["onnx_fp32"]
    ratios = {}
    for key in ("tflite_int8", "tflite_int8_full", "tflite_dynamic"):
        name = key[len("tflite_") :]
        ratios[f"tflite_{name}_over_fp32_latency"] = results[key]["latency_ms"] / fp32["latency_ms"]
        ratios[f"tflite_{name}_over_fp32_size"] = (
            results[key]["file_size_bytes"] / fp32["file_size_bytes"]
        )
        ratios[f"tflite_{name}_over_onnx_fp32_latency"] = (
            results[key]["latency_ms"] / onnx["latency_ms"]
        )
    ratios["tflite_fp32_over_onnx_fp32_latency"] = fp32["latency_ms"] / onnx["latency_ms"]
    document = {
        "model": "bert-mini (classification head, random weights)",
        "parameters": int(model.count_params()),
        "batch": BATCH,
        "sequence_length": SEQ,
        "threads": THREADS,
        "runs": args.runs,
        "rounds": args.rounds,
        "timing": "round-robin over all artifacts in one process (see _interleaved_ms)",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "results": results,
        "ratios": ratios,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(document, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps(ratios, indent=2))
    _plot(results, args.plot)


def _plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    values = [results[n]["latency_ms"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    colors = [
        "#37a" if n.startswith("onnx") else "#888" if n.startswith("keras") else "#3a7"
        for n in names
    ]
    bars = ax.barh(names, values, color=colors)
    for bar, value in zip(bars, values):
        ax.text(value, bar.get_y() + bar.get_height() / 2, f" {value:.2f} ms", va="center")
    ax.set_xlabel("median latency, ms (batch 1, seq 128, 2 threads)")
    ax.set_title("bert-mini: Keras XLA vs exported artifacts")
    ax.invert_yaxis()
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
