"""Training throughput (tokens/s) of tfzoo against keras-hub and Hugging Face (PyTorch), one run.

    python benchmarks/bench_train.py [--rounds 5] [--steps 2] [--warmup 2] [--batch 8] [--seq 128]

Same config, same batch and sequence length, random weights and random token ids, all in this
process on this machine:

* BERT (4 layers, 256 wide, 4 heads, FFN 1024, vocab 30522) sequence classifier: tfzoo
  `bert-mini` classifier, keras-hub `BertTextClassifier`, transformers
  `BertForSequenceClassification`;
* GPT (same shape, GPT-2 vocab 50257, tied LM head): tfzoo `gpt2` causal LM, keras-hub
  `GPT2CausalLM`, transformers `GPT2LMHeadModel`.

Every Keras model (tfzoo and keras-hub, each with `jit_compile=False` and `True`) is compiled with
the same AdamW(1e-4), sparse categorical cross-entropy on logits and no metrics, and stepped with
`train_on_batch` (Keras' `fit` train function, one step per call). The PyTorch models run a
standard loop (zero_grad, forward with labels, backward, AdamW step) with
`torch.set_num_threads(os.cpu_count())`. Dropout 0.1 everywhere (each library's default).

Timing: `--warmup` steps per model first (tracing, XLA compilation), then `--rounds` rounds; in
each round every model runs `--steps` timed steps, models in a fixed interleaved order, and a
TensorFlow and a PyTorch 2048x2048 fp32 matmul are timed too. A model's step time is the median
over rounds of its mean step time in the round; ratios are medians of the per-round ratios.

Model FLOPs per token (PaLM appendix B convention, training = 3 x forward):
    6 * N + 12 * L * T * d  (+ 6 * V * d for the LM head of GPT)
N = matmul weights of the Transformer blocks (4 d^2 + 2 d * d_ff per layer; BERT adds the pooler
and classifier, per sequence), L layers, T sequence length, d width, V vocabulary. The 12 L T d
term is QK^T and AV over the full T x T matrix (what every implementation here computes, causal
or not). MFU = FLOPs per token * tokens/s / peak, with peak = the best 2048^3 matmul GFLOP/s
measured in this run (TensorFlow or PyTorch, whichever is faster).

Writes benchmarks/results/train.json and docs/img/train_throughput.png.
"""

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfzoo  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = dict(num_layers=4, hidden_dim=256, num_heads=4, intermediate_dim=1024)
MAX_LEN = 512
VOCAB = {"bert": 30522, "gpt": 50257}


def flops_per_token(family, seq):
    """Training FLOPs per token (see the module docstring for the formula)."""
    d, layers, ff = SHAPE["hidden_dim"], SHAPE["num_layers"], SHAPE["intermediate_dim"]
    blocks = layers * (4 * d * d + 2 * d * ff)
    attention = 12 * layers * seq * d
    if family == "bert":
        head = (d * d + d * 2) / seq  # pooler + 2-class classifier, once per sequence
    else:
        head = VOCAB["gpt"] * d  # tied LM head: a (d x V) matmul for every token
    return 6 * (blocks + head) + attention


class MatmulPeak:
    """Times one n x n fp32 matmul in TensorFlow and in PyTorch; keeps every measurement."""

    def __init__(self, n=2048):
        import torch

        self.n, self.torch = n, torch
        self.a, self.b = tf.random.normal((n, n)), tf.random.normal((n, n))
        self.ta, self.tb = torch.randn(n, n), torch.randn(n, n)
        self.tf_fn = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        self.samples = {"tensorflow": [], "torch": []}
        self.measure(repeats=2)
        self.samples = {"tensorflow": [], "torch": []}

    def measure(self, repeats=3):
        flops = 2 * self.n**3
        for _ in range(repeats):
            start = time.perf_counter()
            self.tf_fn(self.a, self.b).numpy()
            self.samples["tensorflow"].append(flops / (time.perf_counter() - start) / 1e9)
            start = time.perf_counter()
            (self.ta @ self.tb).sum().item()
            self.samples["torch"].append(flops / (time.perf_counter() - start) / 1e9)

    def peak(self):
        return max(max(v) for v in self.samples.values())

    def median(self):
        """Median over the rounds of the faster library: what the cores typically gave."""
        pairs = zip(self.samples["tensorflow"], self.samples["torch"])
        return statistics.median(max(pair) for pair in pairs)


def count_params(model):
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return int(sum(p.numel() for p in model.parameters()))


def _inputs(family, batch, seq):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCAB[family], (batch, seq)).astype("int32")
    x = {"token_ids": ids, "padding_mask": np.ones((batch, seq), "int32")}
    if family == "bert":
        x["segment_ids"] = np.zeros((batch, seq), "int32")
        y = np.zeros((batch,), "int32")
    else:
        y = np.roll(ids, -1, axis=1)
    return x, y


class KerasRunner:
    """One Keras model stepped through `train_on_batch` (the `fit` train function)."""

    def __init__(self, name, family, framework, model, backbone, x, y, jit):
        self.name, self.family, self.framework, self.jit = name, family, framework, jit
        self.params = count_params(backbone)
        self.total_params = count_params(model)
        kwargs = {}
        if framework == "keras-hub":
            # keras-hub tasks add accuracy metrics on "auto" (and keep them on `None`); tfzoo has
            # none: `[]` gives both the same work.
            kwargs = {"weighted_metrics": []} if family == "gpt" else {"metrics": []}
        model.compile(
            optimizer=keras.optimizers.AdamW(1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
            **kwargs,
        )
        self.model = model
        self.x = {k: tf.constant(v) for k, v in x.items()}
        self.y = tf.constant(y)

    def step(self):
        logs = self.model.train_on_batch(self.x, self.y, return_dict=True)
        self.logged = sorted(logs)
        return float(logs["loss"])


class TorchRunner:
    """A standard PyTorch training loop on a transformers model."""

    def __init__(self, name, family, model, backbone, inputs, labels):
        import torch

        self.name, self.family, self.framework, self.jit = name, family, "transformers", None
        self.params = count_params(backbone)
        self.total_params = count_params(model)
        self.model, self.inputs, self.labels = model, inputs, labels
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()

    def step(self):
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.model(**self.inputs, labels=self.labels).loss
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


def build_runners(batch, seq, families, frameworks):
    import keras_hub
    import torch
    import transformers

    d, layers = SHAPE["hidden_dim"], SHAPE["num_layers"]
    heads, ff = SHAPE["num_heads"], SHAPE["intermediate_dim"]
    runners = []
    if "bert" in families:
        x, y = _inputs("bert", batch, seq)
        cfg = dict(SHAPE, vocabulary_size=VOCAB["bert"], max_sequence_length=MAX_LEN)
        if "tfzoo" in frameworks:
            for jit in (False, True):
                keras.utils.set_random_seed(0)
                m = tfzoo.build("bert-mini", task="classification", num_classes=2, **cfg)
                runners.append(
                    KerasRunner(
                        f"tfzoo BERT (jit={jit})", "bert", "tfzoo", m, m.backbone, x, y, jit
                    )
                )
        if "keras-hub" in frameworks:
            for jit in (False, True):
                keras.utils.set_random_seed(0)
                bb = keras_hub.models.BertBackbone(**cfg)
                m = keras_hub.models.BertTextClassifier(bb, num_classes=2, preprocessor=None)
                name = f"keras-hub BertTextClassifier (jit={jit})"
                runners.append(KerasRunner(name, "bert", "keras-hub", m, bb, x, y, jit))
        if "transformers" in frameworks:
            torch.manual_seed(0)
            hf = transformers.BertForSequenceClassification(
                transformers.BertConfig(
                    vocab_size=VOCAB["bert"],
                    hidden_size=d,
                    num_hidden_layers=layers,
                    num_attention_heads=heads,
                    intermediate_size=ff,
                    max_position_embeddings=MAX_LEN,
                    num_labels=2,
                )
            )
            inputs = {
                "input_ids": torch.tensor(x["token_ids"], dtype=torch.long),
                "attention_mask": torch.tensor(x["padding_mask"], dtype=torch.long),
                "token_type_ids": torch.tensor(x["segment_ids"], dtype=torch.long),
            }
            runners.append(
                TorchRunner(
                    "HF BertForSequenceClassification (torch)",
                    "bert",
                    hf,
                    hf.bert,
                    inputs,
                    torch.tensor(y, dtype=torch.long),
                )
            )
    if "gpt" in families:
        x, y = _inputs("gpt", batch, seq)
        cfg = dict(SHAPE, vocabulary_size=VOCAB["gpt"], max_sequence_length=MAX_LEN)
        gx = {k: x[k] for k in ("token_ids", "padding_mask")}
        if "tfzoo" in frameworks:
            for jit in (False, True):
                keras.utils.set_random_seed(0)
                m = tfzoo.build("gpt2", task="causal_lm", **cfg)
                runners.append(
                    KerasRunner(f"tfzoo GPT (jit={jit})", "gpt", "tfzoo", m, m.backbone, gx, y, jit)
                )
        if "keras-hub" in frameworks:
            for jit in (False, True):
                keras.utils.set_random_seed(0)
                bb = keras_hub.models.GPT2Backbone(**cfg)
                m = keras_hub.models.GPT2CausalLM(bb, preprocessor=None)
                name = f"keras-hub GPT2CausalLM (jit={jit})"
                runners.append(KerasRunner(name, "gpt", "keras-hub", m, bb, gx, y, jit))
        if "transformers" in frameworks:
            torch.manual_seed(0)
            hf = transformers.GPT2LMHeadModel(
                transformers.GPT2Config(
                    vocab_size=VOCAB["gpt"],
                    n_embd=d,
                    n_layer=layers,
                    n_head=heads,
                    n_inner=ff,
                    n_positions=MAX_LEN,
                )
            )
            ids = torch.tensor(x["token_ids"], dtype=torch.long)
            # HF shifts the labels inside the model: labels = input ids (same work per token).
            runners.append(
                TorchRunner(
                    "HF GPT2LMHeadModel (torch)",
                    "gpt",
                    hf,
                    hf.transformer,
                    {"input_ids": ids},
                    ids,
                )
            )
    return runners


def _find(runners, family, framework, jit=None):
    for r in runners:
        if r.family == family and r.framework == framework and (jit is None or r.jit == jit):
            return r
    return None


def run(args):
    import keras_hub
    import torch
    import transformers

    torch.set_num_threads(os.cpu_count())
    b, s = args.batch, args.seq
    tokens = b * s
    load_start = os.getloadavg()
    runners = build_runners(b, s, args.families.split(","), args.frameworks.split(","))
    for r in runners:
        print(f"{r.name:42s} backbone params {r.params:,}  total {r.total_params:,}", flush=True)
    peak = MatmulPeak()

    for r in runners:
        start = time.perf_counter()
        for _ in range(args.warmup):
            r.step()
        logged = getattr(r, "logged", ["loss"])
        print(f"warmup {r.name}: {time.perf_counter() - start:.1f} s, logs {logged}", flush=True)

    per_round = {r.name: [] for r in runners}
    loads = []
    for k in range(args.rounds):
        peak.measure()
        for r in runners:
            start = time.perf_counter()
            for _ in range(args.steps):
                r.step()
            per_round[r.name].append((time.perf_counter() - start) / args.steps)
        loads.append(os.getloadavg())
        line = "  ".join(f"{tokens / per_round[r.name][-1]:6.0f}" for r in runners)
        print(f"round {k}: tok/s {line}  load {loads[-1][0]:.2f}", flush=True)

    peak_gflops, typical_gflops = peak.peak(), peak.median()
    results = []
    for r in runners:
        seconds = statistics.median(per_round[r.name])
        fpt = flops_per_token(r.family, s)
        row = {
            "name": r.name,
            "family": r.family,
            "framework": r.framework,
            "jit_compile": r.jit,
            "backbone_params": r.params,
            "total_params": r.total_params,
            "step_seconds_median": seconds,
            "step_seconds_per_round": per_round[r.name],
            "tokens_per_second": tokens / seconds,
            "mfu": tokens / seconds * fpt / (peak_gflops * 1e9),
            "mfu_vs_median_matmul": tokens / seconds * fpt / (typical_gflops * 1e9),
        }
        results.append(row)

    def ratio(a, c):
        if a is None or c is None:
            return None
        return statistics.median(x / y for x, y in zip(per_round[c.name], per_round[a.name]))

    ratios = {}
    for fam in ("bert", "gpt"):
        best = {}
        for fw in ("tfzoo", "keras-hub"):
            cands = [r for r in runners if r.family == fam and r.framework == fw]
            if cands:
                best[fw] = min(cands, key=lambda r: statistics.median(per_round[r.name]))
        torch_r = _find(runners, fam, "transformers")
        for jit in (False, True):
            a = _find(runners, fam, "tfzoo", jit)
            ratios[f"{fam}: tfzoo / keras-hub (both jit={jit})"] = ratio(
                a, _find(runners, fam, "keras-hub", jit)
            )
            ratios[f"{fam}: tfzoo (jit={jit}) / HF torch"] = ratio(a, torch_r)
        ratios[f"{fam}: tfzoo jit=True / jit=False"] = ratio(
            _find(runners, fam, "tfzoo", True), _find(runners, fam, "tfzoo", False)
        )
        ratios[f"{fam}: best tfzoo / best keras-hub"] = ratio(
            best.get("tfzoo"), best.get("keras-hub")
        )
        ratios[f"{fam}: best tfzoo / HF torch"] = ratio(best.get("tfzoo"), torch_r)
        ratios[f"{fam}: best tfzoo"] = best["tfzoo"].name if "tfzoo" in best else None
        ratios[f"{fam}: best keras-hub"] = best["keras-hub"].name if "keras-hub" in best else None
    ratios = {k: v for k, v in ratios.items() if v is not None}

    print(
        f"\nmatmul peak (best 2048^3 fp32): {peak_gflops:.1f} GFLOP/s, median {typical_gflops:.1f}"
    )
    for row in results:
        print(
            f"{row['name']:42s} {row['tokens_per_second']:8.0f} tok/s  MFU {row['mfu']:.3f}",
            flush=True,
        )
    for k, v in ratios.items():
        print(f"{k:45s} {v:.2f}x" if isinstance(v, float) else f"{k:45s} {v}")
    return {
        "command": "python benchmarks/bench_train.py "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k not in ("output", "plot")),
        "batch": b,
        "sequence_length": s,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "warmup_steps": args.warmup,
        "optimizer": "AdamW(1e-4)",
        "loss": "sparse categorical cross-entropy on logits",
        "flops_per_token_formula": "6*N_blocks + 12*L*T*d (+ 6*V*d LM head for GPT; "
        "+ 6*(d*d+2d)/T pooler and classifier for BERT)",
        "flops_per_token": {"bert": flops_per_token("bert", s), "gpt": flops_per_token("gpt", s)},
        "matmul_peak_gflops": peak_gflops,
        "matmul_median_gflops": typical_gflops,
        "matmul_gflops_samples": peak.samples,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_start": load_start,
            "load_average_per_round": loads,
            "load_average_end": os.getloadavg(),
            "torch_threads": torch.get_num_threads(),
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


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["results"]
    colors = {"tfzoo": "tab:blue", "keras-hub": "tab:orange", "transformers": "tab:green"}
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    for ax, fam in zip(axes, ("bert", "gpt")):
        sub = [r for r in rows if r["family"] == fam]
        ax.barh(
            [r["name"] for r in sub],
            [r["tokens_per_second"] for r in sub],
            color=[colors[r["framework"]] for r in sub],
        )
        for i, r in enumerate(sub):
            ax.text(
                r["tokens_per_second"],
                i,
                f" {r['tokens_per_second']:.0f} (MFU {r['mfu']:.2f})",
                va="center",
                fontsize=8,
            )
        ax.invert_yaxis()
        ax.set_xlabel("training tokens / s (higher is better)")
        ax.set_title(f"{fam.upper()} 4x256")
        ax.margins(x=0.35)
    loads = [load[0] for load in report["machine"]["load_average_per_round"]]
    fig.suptitle(
        f"Training throughput, batch {report['batch']} x seq {report['sequence_length']}, "
        f"{report['machine']['cpus']} CPU cores, 1-min load average {min(loads):.1f}-"
        f"{max(loads):.1f} during the rounds, medians of {report['rounds']} interleaved rounds"
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path + ".tmp.png", dpi=100)
    os.replace(path + ".tmp.png", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--families", default="bert,gpt")
    parser.add_argument("--frameworks", default="tfzoo,keras-hub,transformers")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "train.json"))
    parser.add_argument(
        "--plot", default=os.path.join(HERE, "..", "docs", "img", "train_throughput.png")
    )
    args = parser.parse_args()
    report = run(args)
    if not args.output:
        return
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.output + ".tmp", args.output)
    if args.plot:
        plot(report, os.path.abspath(args.plot))
    print(f"wrote {args.output} and {os.path.abspath(args.plot)}")


if __name__ == "__main__":
    main()
