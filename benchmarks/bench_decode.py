"""Greedy decoding tokens/s with a key/value cache: TFLite and ONNX decoders vs XLA `generate`.

    python benchmarks/bench_decode.py [--runs 3] [--threads 2] [--overwrite]
                                      [--out benchmarks/results/decode.json]
                                      [--plot docs/img/decode_tokens_per_s.png]

One GPT-2-shaped model (vocabulary 50257, 4 layers, hidden 256, 4 heads, intermediate 1024,
random weights: speed does not depend on them), batch 1, a 16-token prompt, 64 new tokens,
measured in one process on one machine:

* `tfzoo` `CausalLM.generate` (one XLA-compiled while loop);
* the `export_tflite_decoder` file in LiteRT (XNNPACK), a Python loop over `prefill`/`decode`;
* the `export_onnx_decoder` graph in ONNX Runtime, a Python loop over its single step;
* keras-hub `GPT2CausalLM.generate` (greedy sampler, XLA) on the same configuration.

Every timing covers the whole continuation (prefill included) after one warm-up call, which
also pays for compilation. tokens/s = 64 / median seconds. Writes JSON and a bar plot.
"""

import argparse
import json
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

CONFIG = dict(
    vocabulary_size=50257,
    num_layers=4,
    num_heads=4,
    hidden_dim=256,
    intermediate_dim=1024,
    max_sequence_length=128,
)
PROMPT, NEW = 16, 64


def _median_seconds(fn, runs):
    fn()  # warm-up (and compilation)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _write_json(path, data, overwrite):
    if os.path.exists(path) and not overwrite:
        raise SystemExit(f"{path} exists; pass --overwrite to replace it.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = path + ".tmp"
    with open(temp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(temp, path)


def _plot(path, results, overwrite):
    if os.path.exists(path) and not overwrite:
        raise SystemExit(f"{path} exists; pass --overwrite to replace it.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    values = [results[n]["tokens_per_s"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(names, values, color=["#4c72b0", "#55a868", "#c44e52", "#8172b2"][: len(names)])
    ax.bar_label(bars, fmt="%.0f", padding=3)
    ax.set_xlabel("greedy decoding, tokens/s (higher is better)")
    ax.set_title(
        f"GPT-2-shaped, 4 layers x 256\nprompt {PROMPT}, {NEW} new tokens, batch 1", fontsize=10
    )
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.2)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = path + ".tmp.png"
    fig.savefig(temp, dpi=120)
    os.replace(temp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/decode.json")
    parser.add_argument("--plot", default="docs/img/decode_tokens_per_s.png")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    for target in (args.out, args.plot):
        if os.path.exists(target) and not args.overwrite:
            raise SystemExit(f"{target} exists; pass --overwrite to replace it.")

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import keras_hub

    import tfzoo
    from tfzoo.export.decoding import (
        OnnxDecoder,
        TFLiteDecoder,
        export_onnx_decoder,
        export_tflite_decoder,
    )

    keras.utils.set_random_seed(0)
    prompt = np.random.default_rng(0).integers(0, CONFIG["vocabulary_size"], (1, PROMPT))
    prompt = prompt.astype("int32")
    results, notes = {}, []

    lm = tfzoo.build("gpt2", task="causal_lm", **CONFIG)
    reference = lm.generate(prompt, max_new_tokens=NEW)["token_ids"]
    seconds = _median_seconds(lambda: lm.generate(prompt, max_new_tokens=NEW), args.runs)
    results["tfzoo generate (XLA)"] = {"seconds": seconds}

    with tempfile.TemporaryDirectory() as folder:
        tflite_path = os.path.join(folder, "gpt.tflite")
        start = time.perf_counter()
        report = export_tflite_decoder(
            lm, tflite_path, max_length=PROMPT + NEW, prefill_length=PROMPT, threads=args.threads
        )
        export_s = time.perf_counter() - start
        decoder = TFLiteDecoder(tflite_path, threads=args.threads)
        same = bool(np.array_equal(decoder.generate(prompt, NEW), reference))
        seconds = _median_seconds(lambda: decoder.generate(prompt, NEW), args.runs)
        results["tfzoo TFLite decoder"] = {
            "seconds": seconds,
            "decode_ms": decoder.decode_latency_ms(runs=50),
            "file_mb": report["file_size"] / 1e6,
            "export_seconds": export_s,
            "ids_equal_generate": same,
        }

        onnx_path = os.path.join(folder, "gpt.onnx")
        start = time.perf_counter()
        report = export_onnx_decoder(lm, onnx_path, max_length=PROMPT + NEW, threads=args.threads)
        export_s = time.perf_counter() - start
        decoder = OnnxDecoder(onnx_path, threads=args.threads)
        same = bool(np.array_equal(decoder.generate(prompt, NEW), reference))
        seconds = _median_seconds(lambda: decoder.generate(prompt, NEW), args.runs)
        results["tfzoo ONNX decoder"] = {
            "seconds": seconds,
            "decode_ms": decoder.decode_latency_ms(runs=50),
            "file_mb": report["file_size"] / 1e6,
            "export_seconds": export_s,
            "ids_equal_generate": same,
        }

    hub_backbone = keras_hub.models.GPT2Backbone(dropout=0.0, **CONFIG)
    hub_lm = keras_hub.models.GPT2CausalLM(backbone=hub_backbone, preprocessor=None)
    hub_lm.compile(sampler="greedy")
    # Without a preprocessor keras-hub generates into the padding of a fixed-length buffer.
    buffer = np.zeros((1, PROMPT + NEW), "int32")
    buffer[:, :PROMPT] = prompt
    mask = np.zeros((1, PROMPT + NEW), bool)
    mask[:, :PROMPT] = True
    hub_inputs = {"token_ids": buffer, "padding_mask": mask}
    hub_out = hub_lm.generate(hub_inputs, stop_token_ids=None)
    generated = int(np.asarray(hub_out["padding_mask"]).sum()) - PROMPT
    if generated != NEW:
        notes.append(f"keras-hub generated {generated} tokens, not {NEW}")
    seconds = _median_seconds(lambda: hub_lm.generate(hub_inputs, stop_token_ids=None), args.runs)
    results["keras-hub generate (XLA)"] = {"seconds": seconds}

    for entry in results.values():
        entry["tokens_per_s"] = NEW / entry["seconds"]
    base = results["keras-hub generate (XLA)"]["tokens_per_s"]
    for entry in results.values():
        entry["vs_keras_hub"] = entry["tokens_per_s"] / base

    data = {
        "config": CONFIG,
        "prompt_tokens": PROMPT,
        "new_tokens": NEW,
        "batch": 1,
        "threads": args.threads,
        "runs": args.runs,
        "weights": "random (seed 0); identical configuration, not identical weights, across tools",
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "keras_hub": keras_hub.__version__,
        },
        "results": results,
        "notes": notes,
    }
    _write_json(args.out, data, args.overwrite)
    _plot(args.plot, results, args.overwrite)
    for name, entry in results.items():
        print(f"{name:28s} {entry['tokens_per_s']:8.1f} tokens/s  x{entry['vs_keras_hub']:.2f}")


if __name__ == "__main__":
    main()
