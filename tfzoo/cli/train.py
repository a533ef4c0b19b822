"""`tfzoo train mlm|clm|classify|distill`: train a zoo model from the command line.

`main(argv)` runs it alone, without the leading `train`
(`python -c "from tfzoo.cli.train import main; main(['classify', ...])"`).
"""

import argparse
import json
import os
import sys
import time

from tfzoo.cli.common import Parser, positive, run_parser
from tfzoo.cli.errors import UserError, check_keras_file, check_output_path

TASKS = ("mlm", "clm", "classify", "distill")
DATA = ("movie_reviews", "sms_spam", "news")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")

EXAMPLES = """examples:
  tfzoo train classify --model bert-mini --data movie_reviews --epochs 3 --output runs/mr
  tfzoo train classify --model bert-tiny --data my.csv --sequence-length 64 --output runs/csv
  tfzoo train mlm --model bert-mini --data news --mixed-precision mixed_bfloat16 --output runs/mlm
  tfzoo train clm --model gpt2 --override num_layers=2 --data news --output runs/clm
  tfzoo train distill --teacher runs/big/model.keras --model bert-tiny --data movie_reviews \\
      --output runs/student
  tfzoo train classify ... --output runs/mr --resume      # continue after a crash

The output directory gets model.keras, metrics.json, curves.png, TensorBoard logs (logs/) and
checkpoints (checkpoints/); a killed run restarted with --resume continues at the same step.
"""


def _override(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--override takes key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = json.loads(value)
    except json.JSONDecodeError:
        pass  # a plain string, e.g. dtype=mixed_bfloat16
    return key, value


def add_parser(subparsers):
    """Adds the `train` command (with `mlm`, `clm`, `classify`, `distill`) to `subparsers`."""
    train = subparsers.add_parser(
        "train",
        help="train a zoo model (mlm, clm, classify, distill)",
        description="Train a zoo model with model.fit.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = train.add_subparsers(dest="train_task", metavar="{mlm,clm,classify,distill}")
    tasks.required = True
    helps = {
        "mlm": "masked language modelling (BERT pretraining)",
        "clm": "causal language modelling (GPT / Llama pretraining)",
        "classify": "text classification (fine-tuning)",
        "distill": "distil a fine-tuned teacher classifier into a smaller student",
    }
    for task in TASKS:
        p = tasks.add_parser(
            task,
            help=helps[task],
            description=helps[task],
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        default_model = "gpt2" if task == "clm" else "bert-mini"
        p.add_argument(
            "--model",
            default=default_model,
            help=f"zoo model name (tfzoo.list_models()). Default: {default_model}",
        )
        p.add_argument(
            "--override",
            type=_override,
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="model argument, e.g. num_layers=2 (repeatable)",
        )
        p.add_argument(
            "--data",
            default="news" if task in ("mlm", "clm") else "movie_reviews",
            help=f"{', '.join(DATA)} or a CSV file with text,label columns",
        )
        p.add_argument(
            "--max-examples",
            type=positive,
            default=None,
            help="use only the first N training texts (quick runs)",
        )
        p.add_argument("--epochs", type=positive, default=1)
        p.add_argument("--batch-size", type=positive, default=32, help="global batch size")
        p.add_argument("--sequence-length", type=positive, default=128)
        p.add_argument(
            "--learning-rate", type=float, default=5e-5 if task in ("classify", "distill") else 1e-4
        )
        p.add_argument("--warmup-ratio", type=float, default=0.1)
        p.add_argument("--weight-decay", type=float, default=0.01)
        p.add_argument("--gradient-accumulation", type=int, default=None, metavar="K")
        p.add_argument("--output", required=True, help="output directory")
        p.add_argument(
            "--strategy", default="auto", choices=("auto", "cpu", "mirrored", "tpu", "multi_worker")
        )
        p.add_argument("--mixed-precision", default="float32", choices=PRECISIONS)
        p.add_argument("--jit-compile", action="store_true", help="compile train steps with XLA")
        p.add_argument("--steps-per-execution", type=positive, default=1)
        p.add_argument("--save-every-steps", type=positive, default=200)
        p.add_argument("--keep-checkpoints", type=positive, default=3)
        p.add_argument(
            "--resume",
            action="store_true",
            help="continue from the newest checkpoint in OUTPUT/checkpoints",
        )
        p.add_argument("--seed", type=int, default=0)
        p.add_argument(
            "--tokenizer",
            default=None,
            help="local Hugging Face tokenizer directory (default: MiniLM's WordPiece "
            "for BERT, GPT-2's BPE for GPT/Llama)",
        )
        p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
        if task == "clm":
            p.add_argument(
                "--lora-rank",
                type=int,
                default=None,
                metavar="R",
                help="train LoRA adapters of rank R, base weights frozen (0: train every weight; "
                "default: 8 for models over 100M parameters, else 0); the saved model is merged",
            )
            p.add_argument("--lora-alpha", type=float, default=None, help="LoRA scale alpha/R")
            p.add_argument(
                "--lora-targets",
                default="q,v",
                help="projections to adapt: q,k,v,o,gate,up,down or all (default q,v)",
            )
        if task == "distill":
            p.add_argument("--teacher", required=True, help="fine-tuned teacher (.keras file)")
            p.add_argument("--temperature", type=float, default=2.0)
            p.add_argument(
                "--alpha",
                type=float,
                default=0.5,
                help="weight of the soft-target loss (1 - alpha: labels)",
            )
        p.set_defaults(func=run)
    return train


# ----------------------------------------------------------------------------------------------


def _tokenizer(args, family, sequence_length):
    from tfzoo import text

    if args.tokenizer:
        if not os.path.isdir(args.tokenizer):
            raise UserError(f"--tokenizer {args.tokenizer}: not a directory")
        return text.tokenizer_from_pretrained(args.tokenizer, sequence_length=sequence_length)
    if family == "bert":
        return text.tokenizer_from_pretrained(text.minilm_path(), sequence_length=sequence_length)
    return text.gpt2_tokenizer(sequence_length=sequence_length)


def _texts_and_labels(args, need_labels):
    from tfzoo import data

    source = args.data
    if source == "movie_reviews":
        d = data.load_movie_reviews()
    elif source == "sms_spam":
        d = data.load_sms_spam()
    elif source == "news":
        if need_labels:
            raise UserError("--data news has no labels; use it with mlm or clm")
        texts = data.load_news_articles()
        cut = max(1, len(texts) // 10)
        return texts[cut:], None, texts[:cut], None, None
    elif source.endswith(".csv") or os.path.isfile(source):
        d = data.load_csv(source, split=True)  # a missing or bad file: one clear ValueError
    else:
        raise UserError(
            f"--data {source!r} is neither a data set name nor a file. Fix: use one of "
            f"{', '.join(DATA)} or the path of a CSV file with text,label columns"
        )
    return (d.train.texts, d.train.labels, d.validation.texts, d.validation.labels, d.num_classes)


def _materialise(ds):
    """Concatenates the batches of a finite dataset into NumPy arrays (one epoch, in order)."""
    import numpy as np
    import tensorflow as tf

    parts = [tf.nest.map_structure(lambda t: t.numpy(), b) for b in ds]
    if not parts:
        raise UserError("the data produced no batches (too few texts for one sequence?)")
    return tf.nest.map_structure(lambda *xs: np.concatenate(xs, axis=0), *parts)


def _arrays(args, task, tokenizer, texts, labels, num_classes):
    from tfzoo import data

    common = dict(sequence_length=args.sequence_length, batch_size=256, shuffle=False)
    if task in ("classify", "distill"):
        ds = data.classification_dataset(
            texts, labels, tokenizer, num_classes=num_classes, **common
        )
        x, y = _materialise(ds)
        return x, y, None
    if task == "mlm":
        ds = data.masked_lm_dataset(texts, tokenizer, seed=args.seed, **common)
        return _materialise(ds)
    ds = data.causal_lm_dataset(texts, tokenizer, **common)
    return _materialise(ds)


def _build(args, task, num_classes, vocabulary_size):
    import tfzoo

    preset = tfzoo.get_config(args.model)
    family = preset["family"]
    if task in ("mlm", "classify", "distill") and family != "bert":
        raise UserError(f"train {task} needs a BERT model; {args.model} is {family}")
    if task == "clm" and family == "bert":
        raise UserError(f"train clm needs a GPT or Llama model; {args.model} is BERT")
    overrides = dict(args.override)
    overrides.setdefault("vocabulary_size", vocabulary_size)
    max_len = overrides.get("max_sequence_length", preset["config"].get("max_sequence_length"))
    if max_len is not None and args.sequence_length > max_len:
        raise UserError(
            f"--sequence-length {args.sequence_length} exceeds {args.model}'s "
            f"max_sequence_length {max_len}"
        )
    kind = {"mlm": "masked_lm", "clm": "causal_lm"}.get(task, "classification")
    if kind == "classification":
        overrides["num_classes"] = num_classes
    return tfzoo.build(args.model, task=kind, **overrides)


def _lora(args, model):
    """Adds LoRA adapters when asked (or by default above 100M parameters); returns a summary."""
    from tfzoo.models.lora import LORA_THRESHOLD, enable_lora

    if not hasattr(args, "lora_targets"):
        return None  # not a causal-LM run
    rank = args.lora_rank
    if rank is None:
        rank = 8 if model.count_params() > LORA_THRESHOLD else 0
    if rank < 0:
        raise UserError(f"--lora-rank must be >= 0, got {rank}")
    if rank == 0:
        return None
    targets = tuple(t.strip() for t in args.lora_targets.split(",") if t.strip())
    try:
        trainable = enable_lora(
            model, rank, args.lora_alpha, "all" if targets == ("all",) else targets
        )
    except ValueError as error:
        raise UserError(f"--lora-*: {error}") from None
    return {
        "rank": rank,
        "alpha": args.lora_alpha if args.lora_alpha is not None else float(rank),
        "targets": list(targets),
        "trainable_parameters": trainable,
        "total_parameters": int(model.count_params()),
    }


def _plot(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("loss", "accuracy", "sparse_categorical_accuracy") if k in history]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = range(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], "o-", label=f"train {key}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    temp = path + ".tmp.png"
    fig.savefig(temp, dpi=100)
    plt.close(fig)
    os.replace(temp, path)


def _has_tensorboard():
    import importlib.util

    # Keras' TensorBoard callback needs the `tensorboard` package for tf.summary; without it,
    # fit fails at the first epoch end (TBNotInstalledError).
    return importlib.util.find_spec("tensorboard") is not None


def _write_json(path, value):
    temp = path + ".tmp"
    with open(temp, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def run(args):
    """Runs one `tfzoo train ...` command from parsed arguments; returns the metrics dict."""
    task = args.train_task
    output = args.output
    model_path = os.path.join(output, "model.keras")
    checkpoints = os.path.join(output, "checkpoints")
    # Inputs are checked before any data is read or model built: a mistake costs seconds.
    check_output_path(output, overwrite=True, option="--output", directory=True)
    for name in ("model.keras", "metrics.json", "curves.png"):
        if os.path.exists(os.path.join(output, name)) and not args.resume:
            raise UserError(
                f"{os.path.join(output, name)} exists; pass --resume to continue that run or "
                "choose another --output"
            )
    if os.path.isdir(checkpoints) and os.listdir(checkpoints) and not args.resume:
        raise UserError(
            f"{checkpoints} holds checkpoints of an earlier run; pass --resume to "
            "continue it or choose another --output"
        )
    if not 0.0 <= args.warmup_ratio < 1.0:
        raise UserError(f"--warmup-ratio must be in [0, 1), got {args.warmup_ratio}")
    if task == "distill":
        try:
            check_keras_file(args.teacher)
        except ValueError as error:
            raise UserError(f"--teacher {error}") from None
    if args.tokenizer and not os.path.isdir(args.tokenizer):
        raise UserError(
            f"--tokenizer {args.tokenizer} is not a directory. Fix: pass a local Hugging Face "
            "tokenizer directory (vocab.txt, or vocab.json + merges.txt, or tokenizer.json)."
        )

    import keras

    import tfzoo
    from tfzoo.models.lora import merge_lora
    from tfzoo.train.checkpoint import EpochData, ResumableCheckpoint
    from tfzoo.train.distill import Distiller
    from tfzoo.train.distribute import prepare_for_fit
    from tfzoo.train.distribute import strategy as make_strategy
    from tfzoo.train.optimizers import create_optimizer

    try:
        family = tfzoo.get_config(args.model)["family"]
    except ValueError as error:
        if os.path.exists(args.model):
            raise UserError(
                f"--model takes a zoo model name (see `tfzoo models`), not a path: {args.model}. "
                "Fix: pass e.g. --model bert-mini; to fine-tune a Hugging Face checkpoint "
                "directory use `tfzoo demo --model DIR`."
            ) from None
        raise UserError(str(error)) from error
    keras.utils.set_random_seed(args.seed)
    texts, labels, val_texts, val_labels, num_classes = _texts_and_labels(
        args, need_labels=task in ("classify", "distill")
    )
    if args.max_examples:
        texts = texts[: args.max_examples]
        labels = None if labels is None else labels[: args.max_examples]
        val_texts = val_texts[: max(args.max_examples // 4, 1)]
        val_labels = None if val_labels is None else val_labels[: len(val_texts)]
    tokenizer = _tokenizer(args, family, args.sequence_length)
    x, y, w = _arrays(args, task, tokenizer, texts, labels, num_classes)
    vx, vy, vw = _arrays(args, task, tokenizer, val_texts, val_labels, num_classes)
    n = len(y)
    if n < args.batch_size:
        raise UserError(f"only {n} training examples for --batch-size {args.batch_size}")

    strategy = make_strategy(args.strategy)
    keras.config.set_dtype_policy(args.mixed_precision)
    data = EpochData(x, y, w, batch_size=args.batch_size, seed=args.seed)
    updates = data.steps_per_epoch * args.epochs // (args.gradient_accumulation or 1)
    with strategy.scope():
        model = _build(args, task, num_classes, tokenizer.vocabulary_size)
        lora = _lora(args, model)
        optimizer = create_optimizer(
            args.learning_rate,
            max(updates, 1),
            int(args.warmup_ratio * updates),
            weight_decay=args.weight_decay,
            gradient_accumulation_steps=args.gradient_accumulation,
        )
        metrics = ["accuracy"]
        if task == "distill":
            try:
                teacher = keras.saving.load_model(args.teacher)
            except Exception as error:  # a corrupt or foreign archive: the user's file
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise UserError(
                    f"--teacher {args.teacher} could not be loaded as a Keras model ({reason})"
                ) from error
            trainer = Distiller(teacher, model, temperature=args.temperature, alpha=args.alpha)
            trainer.compile(
                optimizer=optimizer,
                metrics=metrics,
                jit_compile=args.jit_compile,
                steps_per_execution=args.steps_per_execution,
            )
        else:
            trainer = model
            trainer.compile(
                optimizer=optimizer,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                weighted_metrics=metrics if w is not None else None,
                metrics=None if w is not None else metrics,
                jit_compile=args.jit_compile,
                steps_per_execution=args.steps_per_execution,
            )
    keras.config.set_dtype_policy("float32")
    checkpoint = ResumableCheckpoint(
        checkpoints, save_every_steps=args.save_every_steps, keep=args.keep_checkpoints, data=data
    )
    validation = (vx, vy) if vw is None else (vx, vy, vw)
    callbacks = [checkpoint]
    if _has_tensorboard():
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(output, "logs")))
        tensorboard = os.path.join(output, "logs")
    else:
        tensorboard = (
            "not written: the tensorboard package is not installed (pip install tensorboard)"
        )
    os.makedirs(output, exist_ok=True)
    # Build metrics from an ordinary batch (Keras 3.15 fails on dict inputs under a strategy;
    # see tfzoo.train.prepare_for_fit); a no-op on one device. fit then runs in the scope.
    prepare_for_fit(trainer, strategy, next(iter(data.dataset)))
    start = time.perf_counter()
    with strategy.scope():
        history = trainer.fit(
            data.dataset,
            validation_data=validation,
            epochs=args.epochs,
            batch_size=None,
            callbacks=callbacks,
            verbose=args.verbose,
        )
    seconds = time.perf_counter() - start
    tokens = data.steps_per_epoch * args.batch_size * args.sequence_length * len(history.epoch)
    metrics_out = {
        "task": task,
        "model": args.model,
        "data": args.data,
        "train_examples": n,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "sequence_length": args.sequence_length,
        "mixed_precision": args.mixed_precision,
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "resumed_from": checkpoint.restored_from,
        "tensorboard_logs": tensorboard,
        "train_seconds": round(seconds, 3),
        "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else None,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "epochs_run": [int(e) for e in history.epoch],
    }
    if lora:
        metrics_out["lora"] = lora
        model = merge_lora(model)
    model.save(model_path)
    _write_json(os.path.join(output, "metrics.json"), metrics_out)
    if history.history:
        _plot(history.history, os.path.join(output, "curves.png"))
    return metrics_out


def main(argv=None):
    """Runs `tfzoo train ARGV...`: `main(["classify", "--output", "runs/x", ...])`.

    Returns 0 on success; a user error prints one line to stderr and exits with code 2.
    """
    from tfzoo.cli.startup import quiet_tensorflow

    quiet_tensorflow()
    parser = Parser(prog="tfzoo")
    add_parser(parser.add_subparsers(dest="command", metavar="command"))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "train":
        argv = ["train"] + argv
    code = run_parser(parser, argv)
    if code:
        raise SystemExit(code)
    return 0


if __name__ == "__main__":
    main()
