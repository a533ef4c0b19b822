"""Training throughput (tokens/s) of tfzoo against keras-hub and Hugging Face (PyTorch), one run.

    python benchmarks/bench_train.py [--steps 5] [--warmup 2] [--batch 8] [--seq 128]

Same config, same batch and sequence length, random weights and random token ids, all in this
process on this machine: tfzoo BERT (bert-mini shape) classifier and GPT (4 layers, 256 wide,
GPT-2 vocabulary) causal LM, each with and without `jit_compile`; keras-hub `BertBackbone` +
dense head and `GPT2CausalLM` (XLA on); transformers `BertForSequenceClassification` and
`GPT2LMHeadModel` on PyTorch CPU. MFU = achieved FLOP/s / a measured fp32 matmul peak.
Writes benchmarks/results/train.json and docs/img/train_throughput.png.
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfzoo  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BERT = dict(
    num_layers=4,
    hidden_dim=256,
    num_heads=4,
    intermediate_dim=1024,
    vocabulary_size=30522,
    max_sequence_length=512,
)
GPT = dict(
    num_layers=4,
    hidden_dim=256,
    num_heads=4,
    intermediate_dim=1024,
    vocabulary_size=50257,
    max_sequence_length=512,
)


def matmul_peak(n=2048, repeats=10):
    """fp32 GFLOP/s of the best of `repeats` n x n matmuls (TensorFlow, all cores)."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    f(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def train_flops_per_token(cfg, seq, lm_head):
    """Training FLOPs per token: 6 x matmul parameters + attention scores (Kaplan et al.)."""
    d, layers, inter = cfg["hidden_dim"], cfg["num_layers"], cfg["intermediate_dim"]
    per_layer = 4 * d * d + 2 * d * inter
    params = layers * per_layer + (cfg["vocabulary_size"] * d if lm_head else d * d)
    return 6 * params + 6 * layers * seq * d  # 2 (QK^T, AV) x 2 (fwd) x ... ~= 12/2 per token


def _inputs(batch, seq, vocab, segments=True):
    rng = np.random.default_rng(0)
    x = {
        "token_ids": rng.integers(1, vocab, (batch, seq)).astype("int32"),
        "padding_mask": np.ones((batch, seq), "int32"),
    }
    if segments:
        x["segment_ids"] = np.zeros((batch, seq), "int32")
    return x


class _Timer(keras.callbacks.Callback):
    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.times = warmup, []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def time_keras(model, x, y, steps, warmup, jit):
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    timer = _Timer(warmup)
    model.fit(ds, steps_per_epoch=steps + warmup, epochs=1, verbose=0, callbacks=[timer])
    t = timer.times[warmup - 1 :]
    return (t[-1] - t[0]) / (len(t) - 1)


def time_torch(model, inputs, labels, steps, warmup):
    import torch

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    times = []
    for _ in range(steps + warmup):
        optimizer.zero_grad()
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter())
    t = times[warmup - 1 :]
    return (t[-1] - t[0]) / (len(t) - 1)


def run(args):
    import keras_hub
    import torch
    import transformers

    b, s = args.batch, args.seq
    tokens = b * s
    results = []

    def record(name, family, framework, jit, seconds, flops_tok, peak):
        row = {
            "name": name,
            "family": family,
            "framework": framework,
            "jit_compile": jit,
            "step_seconds": seconds,
            "tokens_per_second": tokens / seconds,
            "mfu": tokens / seconds * flops_tok / (peak * 1e9),
        }
        results.append(row)
        print(f"{name:38s} {row['tokens_per_second']:9.0f} tok/s  MFU {row['mfu']:.3f}", flush=True)

    peak = matmul_peak()
    print(f"fp32 matmul peak: {peak:.1f} GFLOP/s", flush=True)
    bert_flops = train_flops_per_token(BERT, s, lm_head=False)
    gpt_flops = train_flops_per_token(GPT, s, lm_head=True)

    # --- BERT classifier ---
    x = _inputs(b, s, BERT["vocabulary_size"])
    y = np.zeros((b,), "int32")
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        m = tfzoo.build("bert-mini", task="classification", num_classes=2, **BERT)
        record(
            f"tfzoo bert-mini (jit={jit})",
            "bert",
            "tfzoo",
            jit,
            time_keras(m, x, y, args.steps, args.warmup, jit),
            bert_flops,
            peak,
        )
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=BERT["vocabulary_size"],
        num_layers=4,
        num_heads=4,
        hidden_dim=256,
        intermediate_dim=1024,
        max_sequence_length=512,
    )
    kh = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=None)
    kx = {
        "token_ids": x["token_ids"],
        "padding_mask": x["padding_mask"],
        "segment_ids": x["segment_ids"],
    }
    record(
        "keras-hub BertTextClassifier (jit=True)",
        "bert",
        "keras-hub",
        True,
        time_keras(kh, kx, y, args.steps, args.warmup, True),
        bert_flops,
        peak,
    )
    torch.manual_seed(0)
    hf = transformers.BertForSequenceClassification(
        transformers.BertConfig(
            vocab_size=BERT["vocabulary_size"],
            hidden_size=256,
            num_hidden_layers=4,
            num_attention_heads=4,
            intermediate_size=1024,
            max_position_embeddings=512,
            num_labels=2,
        )
    )
    inputs = {
        "input_ids": torch.tensor(x["token_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(x["padding_mask"], dtype=torch.long),
    }
    record(
        "HF BertForSequenceClassification (torch)",
        "bert",
        "transformers",
        None,
        time_torch(hf, inputs, torch.tensor(y, dtype=torch.long), args.steps, args.warmup),
        bert_flops,
        peak,
    )

    # --- GPT causal LM ---
    x = _inputs(b, s, GPT["vocabulary_size"], segments=False)
    y = np.roll(x["token_ids"], -1, axis=1)
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        m = tfzoo.build("gpt2", task="causal_lm", **GPT)
        record(
            f"tfzoo gpt 4x256 (jit={jit})",
            "gpt",
            "tfzoo",
            jit,
            time_keras(m, x, y, args.steps, args.warmup, jit),
            gpt_flops,
            peak,
        )
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=GPT["vocabulary_size"],
        num_layers=4,
        num_heads=4,
        hidden_dim=256,
        intermediate_dim=1024,
        max_sequence_length=512,
    )
    kh = keras_hub.models.GPT2CausalLM(backbone, preprocessor=None)
    record(
        "keras-hub GPT2CausalLM (jit=True)",
        "gpt",
        "keras-hub",
        True,
        time_keras(kh, x, y, args.steps, args.warmup, True),
        gpt_flops,
        peak,
    )
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(
            vocab_size=GPT["vocabulary_size"],
            n_embd=256,
            n_layer=4,
            n_head=4,
            n_inner=1024,
            n_positions=512,
        )
    )
    ids = torch.tensor(x["token_ids"], dtype=torch.long)
    # HF shifts the labels inside the model: labels = input ids (same work per token).
    record(
        "HF GPT2LMHeadModel (torch)",
        "gpt",
        "transformers",
        None,
        time_torch(hf, {"input_ids": ids}, ids, args.steps, args.warmup),
        gpt_flops,
        peak,
    )

    by = {r["name"]: r["tokens_per_second"] for r in results}
    ratios = {
        "bert: tfzoo jit / keras-hub": by["tfzoo bert-mini (jit=True)"]
        / by["keras-hub BertTextClassifier (jit=True)"],
        "bert: tfzoo jit / HF torch": by["tfzoo bert-mini (jit=True)"]
        / by["HF BertForSequenceClassification (torch)"],
        "bert: tfzoo jit / tfzoo no jit": by["tfzoo bert-mini (jit=True)"]
        / by["tfzoo bert-mini (jit=False)"],
        "gpt: tfzoo jit / keras-hub": by["tfzoo gpt 4x256 (jit=True)"]
        / by["keras-hub GPT2CausalLM (jit=True)"],
        "gpt: tfzoo jit / HF torch": by["tfzoo gpt 4x256 (jit=True)"]
        / by["HF GPT2LMHeadModel (torch)"],
        "gpt: tfzoo jit / tfzoo no jit": by["tfzoo gpt 4x256 (jit=True)"]
        / by["tfzoo gpt 4x256 (jit=False)"],
    }
    for k, v in ratios.items():
        print(f"{k:32s} {v:.2f}x")
    return {
        "batch": b,
        "sequence_length": s,
        "steps": args.steps,
        "warmup": args.warmup,
        "matmul_peak_gflops": peak,
        "flops_per_token": {"bert": bert_flops, "gpt": gpt_flops},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
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
    fig, ax = plt.subplots(figsize=(9, 4))
    colors = {"tfzoo": "tab:blue", "keras-hub": "tab:orange", "transformers": "tab:green"}
    ax.barh(
        [r["name"] for r in rows],
        [r["tokens_per_second"] for r in rows],
        color=[colors[r["framework"]] for r in rows],
    )
    ax.invert_yaxis()
    ax.set_xlabel("training tokens / s (higher is better)")
    ax.set_title(
        f"Training throughput, batch {report['batch']} x seq {report['sequence_length']}, "
        f"{report['machine']['cpus']} CPU cores"
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path + ".tmp.png", dpi=100)
    os.replace(path + ".tmp.png", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--output", default=os.path.join(HERE, "results", "train.json"))
    parser.add_argument(
        "--plot", default=os.path.join(HERE, "..", "docs", "img", "train_throughput.png")
    )
    args = parser.parse_args()
    report = run(args)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(args.output + ".tmp", args.output)
    plot(report, os.path.abspath(args.plot))
    print(f"wrote {args.output} and {os.path.abspath(args.plot)}")


if __name__ == "__main__":
    main()
