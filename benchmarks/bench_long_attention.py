"""Peak memory and time of blocked local attention against dense attention with a band mask.

Both compute the same sliding-window self-attention (`tfzoo.layers.MultiHeadAttention(
sliding_window=w)` builds `(seq, seq)` logits and masks them; `tfzoo.layers.LocalMultiHeadAttention`
works chunk by chunk with `3 * w * seq` logits). Every (implementation, length) runs in its own
Python process so that its peak resident memory is its own: the figure reported is the rise of the
process's peak RSS (`ru_maxrss`) during the timed calls, over the peak after a warm-up at a short
length. `tf.config.experimental.get_memory_info("CPU:0")` is also recorded, but on this stack it
does not follow the CPU tensors (it reports a peak of about 2 MB for runs whose RSS grows by
hundreds of MB), which is why RSS is the measure.

Usage:

    python benchmarks/bench_long_attention.py --out benchmarks/results/long_attention.json

writes the JSON and a PNG plot next to it (`--overwrite` to replace existing files).

With `--model NAME` the same comparison runs on a whole zoo model instead of one layer: the
preset as it is (`attention_implementation="local"`) against the same preset with
`attention_implementation="dense"` (the band-masked `(seq, seq)` matrix, without global tokens,
which the dense layer does not have), one forward pass at batch 1:

    python benchmarks/bench_long_attention.py --model bert-mini-long --lengths 1024 2048 4096 \
        --out benchmarks/results/long_attention_bert-mini-long.json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

IMPLEMENTATIONS = ("dense_band", "blocked_local")


def _worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import resource

    import numpy as np
    import tensorflow as tf

    from tfzoo.layers import MultiHeadAttention
    from tfzoo.layers.local_attention import LocalMultiHeadAttention

    rng = np.random.default_rng(0)
    if args.model:
        import tfzoo

        overrides = {}
        if args.implementation == "dense_band":
            overrides = dict(attention_implementation="dense", global_tokens=0)
        model = tfzoo.build(args.model, **overrides)

        def make_inputs(length):
            ids = rng.integers(1, model.vocabulary_size, (args.batch, length)).astype("int32")
            inputs = {"token_ids": ids, "padding_mask": np.ones_like(ids)}
            if "segment_ids" in model.input_names:
                inputs["segment_ids"] = np.zeros_like(ids)
            return inputs

        @tf.function(reduce_retracing=True)
        def run(inputs):
            outputs = model(inputs, training=False)
            return outputs["sequence_output"] if isinstance(outputs, dict) else outputs

        run(make_inputs(model.transformer_layers[0].sliding_window))  # builds the runtime
    else:
        if args.implementation == "dense_band":
            layer = MultiHeadAttention(args.heads, sliding_window=args.window)
        else:
            layer = LocalMultiHeadAttention(args.heads, sliding_window=args.window)

        @tf.function(reduce_retracing=True)
        def run(x):
            return layer(x, use_causal_mask=args.causal)

        warm = rng.normal(size=(args.batch, args.window, args.hidden)).astype("float32")
        run(warm)  # builds the layer and TensorFlow's runtime at a short length
    memory_info = None
    try:
        memory_info = tf.config.experimental.get_memory_info("CPU:0")
    except Exception as e:  # noqa: BLE001 - recorded, not fatal: the fallback is RSS
        memory_info = f"unavailable: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    if args.model:
        x = {k: tf.constant(v) for k, v in make_inputs(args.length).items()}
    else:
        x = tf.constant(rng.normal(size=(args.batch, args.length, args.hidden)).astype("float32"))
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    run(x).numpy()  # trace + first run
    first = time.perf_counter() - start
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run(x).numpy()
        times.append(time.perf_counter() - start)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "implementation": args.implementation,
                "length": args.length,
                "peak_rss_increase_mb": (peak_kb - base_kb) / 1024,
                "peak_rss_mb": peak_kb / 1024,
                "median_ms": 1000 * float(np.median(times)),
                "first_call_ms": 1000 * first,
                "get_memory_info": memory_info,
            }
        )
    )


def _atomic_write(path, data, mode="w"):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, mode) as f:
        f.write(data)
    os.replace(tmp, path)


def _plot(results, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for impl in IMPLEMENTATIONS:
        rows = [r for r in results if r["implementation"] == impl and "error" not in r]
        if not rows:
            continue
        lengths = [r["length"] for r in rows]
        axes[0].plot(lengths, [max(r["peak_rss_increase_mb"], 0.1) for r in rows], "o-", label=impl)
        axes[1].plot(lengths, [r["median_ms"] for r in rows], "o-", label=impl)
    for ax, label in zip(axes, ("peak RSS increase (MB)", "median time per call (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--causal", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/long_attention.json")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--model", help="a zoo name such as bert-mini-long (whole model)")
    parser.add_argument("--worker", choices=IMPLEMENTATIONS)
    parser.add_argument("--length", type=int)
    args = parser.parse_args(argv)
    if args.worker:
        args.implementation = args.worker
        return _worker(args)

    if args.window <= 0 or any(n < args.window for n in args.lengths):
        raise ValueError(
            f"--window must be positive and at most every length; got window={args.window}, "
            f"lengths={args.lengths}."
        )
    plot_path = os.path.splitext(args.out)[0] + ".png"
    for path in (args.out, plot_path):
        if os.path.exists(path) and not args.overwrite:
            raise ValueError(f"{path} exists; pass --overwrite to replace it.")
    common = [
        f"--window={args.window}",
        f"--heads={args.heads}",
        f"--hidden={args.hidden}",
        f"--batch={args.batch}",
        f"--repeats={args.repeats}",
    ] + (["--causal"] if args.causal else [])
    if args.model:
        common.append(f"--model={args.model}")
    results = []
    for length in args.lengths:
        for impl in IMPLEMENTATIONS:
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                f"--worker={impl}",
                f"--length={length}",
            ]
            proc = subprocess.run(cmd + common, capture_output=True, text=True)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode or not lines:
                row = {
                    "implementation": impl,
                    "length": length,
                    "error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:300],
                }
            else:
                row = json.loads(lines[-1])
            results.append(row)
            print(json.dumps(row), flush=True)
    report = {
        "benchmark": "sliding-window self-attention: dense band mask vs blocked local",
        "model": args.model,
        "settings": {
            "window": args.window,
            "heads": args.heads,
            "hidden": args.hidden,
            "batch": args.batch,
            "causal": args.causal,
            "repeats": args.repeats,
            "memory": "rise of peak RSS (ru_maxrss) in a fresh process per run",
        },
        "results": results,
    }
    _atomic_write(args.out, json.dumps(report, indent=2) + "\n")
    title = f"window {args.window}, {args.heads} heads, hidden {args.hidden}"
    if args.model:
        title = f"{args.model}, one forward pass (local vs dense band)"
    _plot(results, plot_path, title)
    print(f"wrote {args.out} and {plot_path}")


if __name__ == "__main__":
    main()
