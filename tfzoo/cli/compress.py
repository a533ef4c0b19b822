"""`tfzoo compress prune|structured|recipe`: prune a `.keras` model, or run a whole recipe."""

import os

from tfzoo.cli.common import add_command, add_input_output, load_keras, positive, save_keras
from tfzoo.cli.errors import UserError, check_keras_output


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "compress",
        "prune a .keras model (magnitude sparsity or structured heads/FFN removal)",
        [
            "tfzoo compress prune clf.keras pruned.keras --sparsity 0.5",
            "tfzoo compress structured clf.keras small.keras --heads 0.3 --ffn 0.3",
            "tfzoo compress recipe clf.keras small.tflite --recipe structured:0.4:0.4,int8 "
            "--data movie_reviews",
        ],
    )
    how = p.add_subparsers(dest="how", metavar="how", required=True)
    pp = add_command(
        how,
        "prune",
        "one-shot magnitude pruning to a target sparsity",
        [
            "tfzoo compress prune clf.keras pruned.keras --sparsity 0.5",
            "tfzoo compress prune clf.keras pruned_1x4.keras --sparsity 0.5 --block 1x4",
        ],
    )
    add_input_output(pp, "the pruned .keras file")
    pp.add_argument("--sparsity", type=float, default=0.5)
    pp.add_argument("--block", default="1x1", help="block size ROWSxCOLS, e.g. 1x4")
    pp.set_defaults(func=run_prune)
    ps = add_command(
        how,
        "structured",
        "remove attention heads and FFN neurons (magnitude)",
        ["tfzoo compress structured clf.keras small.keras --heads 0.3 --ffn 0.3"],
    )
    add_input_output(ps, "the smaller .keras file")
    ps.add_argument("--heads", type=float, default=0.3, help="fraction of heads to remove")
    ps.add_argument("--ffn", type=float, default=0.3, help="fraction of FFN neurons to remove")
    ps.set_defaults(func=run_structured)
    pr = add_command(
        how,
        "recipe",
        "distill -> prune -> QAT -> export a fine-tuned classifier and measure the .tflite file",
        [
            "tfzoo compress recipe clf.keras small.tflite --recipe structured:0.4:0.4,int8 "
            "--data movie_reviews",
            "tfzoo compress recipe clf.keras student.tflite --recipe distill:2,int8 --data my.csv",
            "tfzoo compress recipe clf.keras q.tflite --recipe layers:4,qat,int8 --data my.csv",
        ],
    )
    add_input_output(pr, "the .tflite file (its table row goes to OUTPUT.row.json)")
    from tfzoo.compress.recipe import SPEC_HELP

    pr.add_argument("--recipe", required=True, help=SPEC_HELP)
    pr.add_argument(
        "--data", required=True, help="movie_reviews, sms_spam or a CSV file with text,label"
    )
    pr.add_argument("--tokenizer", default=None, help="tokenizer directory (default: MiniLM's)")
    pr.add_argument("--sequence-length", type=positive, default=64)
    pr.add_argument("--train-examples", type=int, default=0, help="0 = the whole train split")
    pr.add_argument("--epochs", type=positive, default=1)
    pr.add_argument("--batch-size", type=positive, default=32)
    pr.add_argument("--learning-rate", type=float, default=5e-5)
    pr.add_argument("--save-keras", default=None, help="also save the compressed .keras model")
    pr.set_defaults(func=run_recipe)


def run_prune(args):
    import numpy as np

    from tfzoo import compress

    try:
        rows, cols = (int(v) for v in args.block.lower().split("x"))
    except ValueError as e:
        raise UserError(f"--block must look like 1x4, got {args.block!r}") from e
    check_keras_output(args.output, args.overwrite)
    model = load_keras(args.model)
    wrapped = compress.prune_low_magnitude(
        model,
        compress.ConstantSparsity(args.sparsity, begin_step=0, frequency=1),
        block_size=(rows, cols),
    )
    wrapped.update_masks(args.sparsity)
    stripped = compress.strip_pruning(wrapped)
    report = compress.sparsity_report(stripped)
    save_keras(stripped, args.output, args.overwrite)
    values = list(report.values())
    print(f"saved {args.output}: mean sparsity {np.mean(values):.3f} over {len(values)} kernels")
    return 0


def run_structured(args):
    from tfzoo import compress

    check_keras_output(args.output, args.overwrite)
    model = load_keras(args.model)
    small = compress.prune_structured(model, heads_fraction=args.heads, ffn_fraction=args.ffn)
    save_keras(small, args.output, args.overwrite)
    print(f"saved {args.output}: {model.count_params():,} -> {small.count_params():,} parameters")
    return 0


def _encode(tokenizer, texts):
    import numpy as np

    out = tokenizer(list(texts))
    return {k: np.asarray(v).astype("int32") for k, v in out.items()}


def run_recipe(args):
    import json

    import numpy as np

    from tfzoo import compress, data, text

    kwargs = compress.parse_recipe(args.recipe)  # a bad spec: one-line ValueError
    if not args.output.endswith(".tflite"):
        raise UserError(f"{args.output}: the recipe writes a .tflite file; name it *.tflite")
    if os.path.exists(args.output) and not args.overwrite:
        raise UserError(f"{args.output} exists; pass --overwrite to replace it")
    if args.save_keras:
        check_keras_output(args.save_keras, args.overwrite)
    model = load_keras(args.model)
    if args.data == "movie_reviews":
        d = data.load_movie_reviews()
    elif args.data == "sms_spam":
        d = data.load_sms_spam()
    elif os.path.isfile(args.data):
        d = data.load_csv(args.data, split=True)
    else:
        raise UserError(f"--data {args.data!r}: use movie_reviews, sms_spam or a CSV file path")
    tokenizer = text.tokenizer_from_pretrained(
        args.tokenizer or text.minilm_path(), sequence_length=args.sequence_length
    )
    vocabulary = getattr(getattr(model, "backbone", model), "vocabulary_size", None)
    if vocabulary is not None and tokenizer.vocabulary_size > vocabulary:
        raise UserError(
            f"the tokenizer has {tokenizer.vocabulary_size} tokens but {args.model} only "
            f"{vocabulary}; pass --tokenizer with the model's own tokenizer directory"
        )
    texts, labels = list(d.train.texts), np.asarray(d.train.labels, "int32")
    if args.train_examples:
        texts, labels = texts[: args.train_examples], labels[: args.train_examples]
    train = (_encode(tokenizer, texts), labels)
    test = (_encode(tokenizer, d.test.texts), np.asarray(d.test.labels, "int32"))
    result = compress.recipe(
        model, train, test, path=args.output, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, verbose=2, **kwargs,
    )  # fmt: skip
    if args.save_keras:
        save_keras(result.model, args.save_keras, args.overwrite)
    row_path = os.path.splitext(result.path)[0] + ".row.json"
    with open(row_path, "w") as f:
        json.dump(result.row, f, indent=2, default=str)
        f.write("\n")
    row = result.row
    print(
        f"saved {result.path}: LiteRT accuracy {row['tflite_test_accuracy']:.4f} "
        f"(Keras {row['keras_test_accuracy']:.4f}), {row['file_size_mb']:.2f} MB, "
        f"{row['latency_ms']:.2f} ms, verified {row['verified']}; row in {row_path}"
    )
    return 0
