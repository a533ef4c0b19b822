"""Peak memory (RSS) and wall time of `tfzoo.export`, one export per process.

    python benchmarks/bench_export_memory.py [--models bert-base,smollm2-135m]
                                             [--exports saved_model,tflite,tflite-int8,onnx]
                                             [--sequence-length 128] [--overwrite]
                                             [--out benchmarks/results/export_memory.json]

Each (model, export) pair runs in a fresh child process that builds the model (random weights:
memory does not depend on their values), records its resident set size (RSS), runs one
`tfzoo.export` with verification, and reports its own peak RSS (`ru_maxrss`, the high-water
mark of the process, model and TensorFlow runtime included) and the export's wall time. The
difference `peak - before` is what the export itself added. Models:

* `bert-base`: `tfzoo.build("bert-base", task="classification", num_classes=2)`, 110M
  parameters;
* `smollm2-135m`: a Llama causal LM shaped like SmolLM2-135M (30 layers, hidden 576, 9 heads,
  3 key/value heads, intermediate 1536, vocabulary 49152, tied embeddings), 135M parameters.

Exports: `saved_model`, `tflite` (float32, fixed sequence length), `tflite-int8`
(`quantize="int8"`, calibrated on 8 random sequences) and `onnx` (dynamic sequence). Writes
JSON with one row per export. Run it on an otherwise idle machine: wall times are shared-CPU
times, RSS is not affected by load.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = ("bert-base", "smollm2-135m")
EXPORTS = ("saved_model", "tflite", "tflite-int8", "onnx")
CALIBRATION_BATCHES = 8


def _rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _build(name):
    import tfzoo

    if name == "bert-base":
        return tfzoo.build("bert-base", task="classification", num_classes=2)
    if name == "smollm2-135m":
        return tfzoo.build(
            "llama-tiny",
            task="causal_lm",
            num_layers=30,
            hidden_dim=576,
            num_heads=9,
            num_key_value_heads=3,
            intermediate_dim=1536,
            vocabulary_size=49152,
            max_sequence_length=2048,
            rope_max_wavelength=100000,
            tie_word_embeddings=True,
        )
    raise SystemExit(f"Unknown model {name!r}. Choose from {list(MODELS)}.")


def _child(model_name, export_name, folder, sequence_length):
    """Runs one export in this process; prints one JSON line."""
    import numpy as np

    import tfzoo

    start = time.perf_counter()
    model = _build(model_name)
    rng = np.random.default_rng(0)
    vocabulary = model.backbone.vocabulary_size

    def row():
        ids = rng.integers(1, vocabulary, (1, sequence_length)).astype("int32")
        x = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
        if "segment_ids" in model.input:
            x["segment_ids"] = np.zeros_like(ids)
        return x

    fmt, quantize = {
        "saved_model": ("saved_model", None),
        "tflite": ("tflite", None),
        "tflite-int8": ("tflite", "int8"),
        "onnx": ("onnx", None),
    }[export_name]
    path = os.path.join(
        folder, {"saved_model": "model", "tflite": "model.tflite"}.get(fmt, "model.onnx")
    )
    calibration = [row() for _ in range(CALIBRATION_BATCHES)] if quantize else None
    before = _rss_bytes()
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = tfzoo.export(
        model,
        path,
        format=fmt,
        quantize=quantize,
        representative_data=calibration,
        calibration_steps=CALIBRATION_BATCHES,
        sequence_length=sequence_length if fmt == "tflite" else None,
        print_report=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    parameters = int(sum(int(np.prod(v.shape)) for v in model.weights))
    print(
        json.dumps(
            {
                "model": model_name,
                "export": export_name,
                "parameters": parameters,
                "weight_bytes": report.weight_bytes,
                "file_size": report.file_size,
                "verified": report.verified,
                "rss_before_export_bytes": before,
                "peak_rss_bytes": peak,
                "export_added_bytes": peak - before,
                "export_seconds": seconds,
                "build_seconds": build_seconds,
            }
        ),
        flush=True,
    )


def _run_child(model_name, export_name, args):
    """One export in a fresh process; returns its JSON row (or an `error` row)."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            model_name,
            export_name,
            folder,
            "--sequence-length",
            str(args.sequence_length),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        row = {
            "model": model_name,
            "export": export_name,
            "error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"],
        }
    else:
        row = json.loads(lines[-1])
    row["process_seconds"] = wall
    return row


def _write_json(path, data, overwrite):
    if os.path.exists(path) and not overwrite:
        raise SystemExit(f"{path} exists; pass --overwrite to replace it.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(temp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--exports", default=",".join(EXPORTS))
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--out", default="benchmarks/results/export_memory.json")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--child", nargs=3, metavar=("MODEL", "EXPORT", "FOLDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child, args.sequence_length)

    models = [m for m in args.models.split(",") if m]
    exports = [e for e in args.exports.split(",") if e]
    for name, allowed in ((models, MODELS), (exports, EXPORTS)):
        unknown = [n for n in name if n not in allowed]
        if unknown:
            raise SystemExit(f"Unknown {unknown}; choose from {list(allowed)}.")
    if os.path.exists(args.out) and not args.overwrite:
        raise SystemExit(f"{args.out} exists; pass --overwrite to replace it.")

    import importlib.metadata

    from tfzoo.version import __version__

    header = {
        "sequence_length": args.sequence_length,
        "calibration_batches": CALIBRATION_BATCHES,
        "tfzoo": __version__,
        "tensorflow": importlib.metadata.version("tensorflow"),
        "tf2onnx": importlib.metadata.version("tf2onnx"),
        "protobuf": importlib.metadata.version("protobuf"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    rows = []
    for model_name in models:
        for export_name in exports:
            rows.append(_run_child(model_name, export_name, args))
            row = rows[-1]
            if "error" in row:
                print(f"{model_name:14s} {export_name:12s} FAILED: {row['error'][0]}", flush=True)
            else:
                print(
                    f"{model_name:14s} {export_name:12s} peak {row['peak_rss_bytes'] / 2**30:6.2f} "
                    f"GiB (before export {row['rss_before_export_bytes'] / 2**30:5.2f} GiB)  "
                    f"export {row['export_seconds']:7.1f} s  verified {row['verified']}",
                    flush=True,
                )
            # Written after every export, so an interrupted run keeps what it measured.
            _write_json(args.out, dict(header, results=rows), overwrite=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
