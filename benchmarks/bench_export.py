"""Export latency and size: bert-mini at batch 1, sequence 128, 2 threads.

    python benchmarks/bench_export.py [--runs 50] [--out benchmarks/results/export.json]

Measures, on one machine in one run: Keras `tf.function(jit_compile=True)`, LiteRT (XNNPACK)
float32 / dynamic-range int8 / full-integer int8 (calibrated on random ids), ONNX Runtime
float32. Every artifact is written and checked by `tfzoo.export`; the table records whether it
passed its default tolerance. Random weights: latency and size do not depend on them.
Writes JSON and a bar plot `docs/img/export_latency.png`.
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


def _median_ms(fn, runs, warmup=5):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
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
    calibration = [
        {
            "token_ids": rng.integers(1, 30522, (1, SEQ)).astype("int32"),
            "padding_mask": np.ones((1, SEQ), "int32"),
            "segment_ids": np.zeros((1, SEQ), "int32"),
        }
        for _ in range(32)
    ]
    results = {}

    keras_fn = tf.function(lambda x: model(x, training=False), jit_compile=True)
    tensors = {k: tf.constant(v) for k, v in inputs.items()}
    results["keras_xla"] = {"latency_ms": _median_ms(lambda: keras_fn(tensors), args.runs)}

    runners = {"tflite": formats.tflite_runner, "onnx": formats.onnx_runner}
    with tempfile.TemporaryDirectory() as folder:
        for key, suffix, quantize in [
            ("tflite_fp32", ".tflite", None),
            ("tflite_dynamic", ".tflite", "dynamic"),
            ("tflite_int8", ".tflite", "int8"),
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
                    representative_data=calibration if quantize == "int8" else None,
                    threads=THREADS,
                    print_report=False,
                )
            except ExportVerificationError as e:
                report = e.report
            run = runners[report.format](report.path, THREADS)
            out = report.outputs[0]
            results[key] = {
                "latency_ms": _median_ms(lambda run=run: run(inputs), args.runs),
                "file_size_bytes": report.file_size,
                "verified": report.verified,
                "max_abs_diff": out["max_abs_diff"],
                "cosine": out["cosine"],
                "export_seconds": time.perf_counter() - start,
                "ops": report.ops["count"],
                "xnnpack_partitions": report.ops.get("xnnpack_partitions"),
                "notes": report.notes,
            }
            print(key, json.dumps(results[key]), flush=True)
    print("keras_xla", json.dumps(results["keras_xla"]))

    fp32, int8 = results["tflite_fp32"], results["tflite_int8"]
    ratios = {
        "tflite_int8_over_fp32_latency": int8["latency_ms"] / fp32["latency_ms"],
        "tflite_int8_over_fp32_size": int8["file_size_bytes"] / fp32["file_size_bytes"],
        "tflite_dynamic_over_fp32_latency": results["tflite_dynamic"]["latency_ms"]
        / fp32["latency_ms"],
        "tflite_int8_over_onnx_fp32_latency": int8["latency_ms"]
        / results["onnx_fp32"]["latency_ms"],
    }
    document = {
        "model": "bert-mini (classification head, random weights)",
        "parameters": int(model.count_params()),
        "batch": BATCH,
        "sequence_length": SEQ,
        "threads": THREADS,
        "runs": args.runs,
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
    bars = ax.barh(names, values, color=["#888"] + ["#3a7"] * 3 + ["#37a"])
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
