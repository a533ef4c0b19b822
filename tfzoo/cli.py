"""The `tfzoo` command.

Every sub-command prints examples in its `--help`. A user mistake (unknown model, missing file,
bad option) is one line on stderr and exit code 2, never a traceback; set `TFZOO_DEBUG=1` to see
the traceback anyway.
"""

import argparse
import json
import os
import sys
import textwrap


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in one line, exit code 2."""


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


def _parser_with_examples(subparsers, name, help, examples, description=None):
    epilog = "examples:\n" + textwrap.indent("\n".join(examples), "  ")
    return subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# --- models ------------------------------------------------------------------------------------
def _cmd_models(args):
    import tfzoo

    rows = []
    for name in tfzoo.list_models(args.family):
        preset = tfzoo.get_config(name)
        cfg = preset["config"]
        rows.append(
            {
                "name": name,
                "family": preset["family"],
                "layers": cfg.get("num_layers"),
                "hidden": cfg.get("hidden_dim"),
                "heads": cfg.get("num_heads"),
                "parameters": preset.get("published_parameters"),
                "tasks": ",".join(preset["tasks"]),
                "description": preset["description"],
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tfzoo models")
    for col in ("name", "family", "layers", "hidden", "heads", "parameters", "tasks"):
        table.add_column(
            col, justify="right" if col in ("layers", "hidden", "heads", "parameters") else "left"
        )
    for r in rows:
        params = f"{r['parameters']:,}" if r["parameters"] else "-"
        table.add_row(
            r["name"],
            r["family"],
            str(r["layers"]),
            str(r["hidden"]),
            str(r["heads"]),
            params,
            r["tasks"],
        )
    Console().print(table)
    return 0


# --- build -------------------------------------------------------------------------------------
def _parse_overrides(pairs):
    overrides = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UserError(f"--set expects key=value, got {pair!r} (e.g. --set num_layers=2)")
        key, value = pair.split("=", 1)
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def _cmd_build(args):
    import tfzoo

    overrides = _parse_overrides(args.set)
    if args.num_classes is not None:
        overrides["num_classes"] = args.num_classes
    try:
        model = tfzoo.build(args.name, task=args.task, **overrides)
    except ValueError as e:
        raise UserError(str(e)) from e
    print(f"{args.name} ({type(model).__name__}): {model.count_params():,} parameters")
    if args.output:
        if os.path.exists(args.output) and not args.overwrite:
            raise UserError(f"{args.output} exists; pass --overwrite to replace it")
        if not args.output.endswith(".keras"):
            raise UserError(f"--output must end with .keras, got {args.output}")
        tmp = args.output + ".tmp.keras"
        model.save(tmp)
        os.replace(tmp, args.output)
        print(f"saved {args.output}")
    return 0


# --- viz ---------------------------------------------------------------------------------------
def _cmd_viz(args):
    from tfzoo import viz
    from tfzoo.convert import load_pretrained
    from tfzoo.text import minilm_path

    path = args.model or minilm_path()
    if not os.path.isdir(path):
        raise UserError(
            f"--model must be a Hugging Face checkpoint directory; {path} is not a directory"
        )
    try:
        model, tokenizer = load_pretrained(path)
    except ValueError as e:
        raise UserError(str(e)) from e
    inputs = tokenizer([args.text])
    n = (
        int(inputs["padding_mask"].numpy().sum())
        if hasattr(inputs["padding_mask"], "numpy")
        else int(sum(inputs["padding_mask"][0]))
    )
    inputs = {k: _to_numpy(v)[:, :n] for k, v in inputs.items()}
    backbone = getattr(model, "backbone", model)
    inputs = {k: v for k, v in inputs.items() if k in backbone.input_names}
    scores = viz.attention_scores(model, inputs)[:, 0]
    tokens = [tokenizer.id_to_token(int(i)) for i in inputs["token_ids"][0]]
    layers = [int(x) for x in args.layers.split(",")] if args.layers else None
    heads = [int(x) for x in args.heads.split(",")] if args.heads else None
    try:
        out = viz.plot_attention(
            scores, tokens, args.output, layers=layers, heads=heads, title=args.text
        )
    except ValueError as e:
        raise UserError(str(e)) from e
    print(f"wrote {out} ({scores.shape[0]} layers x {scores.shape[1]} heads, {n} tokens)")
    return 0


def _to_numpy(x):
    import numpy as np

    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


# --- demo --------------------------------------------------------------------------------------
def _cmd_demo(args):
    from tfzoo import demo

    return demo.run(
        model_dir=args.model,
        data_csv=args.data,
        output=args.output,
        train_examples=args.train_examples,
        epochs=args.epochs,
        sequence_length=args.sequence_length,
        strict=args.strict,
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="tfzoo",
        description="A Keras 3 Transformer zoo you can trust, train, compress and ship.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `tfzoo <command> --help` for the examples of each command.",
    )
    from tfzoo.version import __version__

    parser.add_argument("--version", action="version", version=f"tfzoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")

    p = _parser_with_examples(
        sub,
        "models",
        "list the zoo's models",
        ["tfzoo models", "tfzoo models --family bert --json"],
    )
    p.add_argument("--family", help="only this family (bert, gpt, llama, ...)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_models)

    p = _parser_with_examples(
        sub,
        "build",
        "build a zoo model and report its size (optionally save it as .keras)",
        [
            "tfzoo build bert-mini",
            "tfzoo build bert-tiny --task classification --num-classes 2 --output clf.keras",
            "tfzoo build gpt2 --task causal_lm --set num_layers=2 --set dtype=mixed_bfloat16",
        ],
    )
    p.add_argument("name", help="zoo model name (see `tfzoo models`)")
    p.add_argument("--task", help="task head, e.g. classification, masked_lm, causal_lm")
    p.add_argument("--num-classes", type=int, help="classes for classification heads")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--output", help="save the model to this .keras file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.set_defaults(func=_cmd_build)

    p = _parser_with_examples(
        sub,
        "viz",
        "visualise a model (attention maps of a sentence)",
        [
            'tfzoo viz attention --text "A gripping, beautifully shot film." --output attention.png',
            'tfzoo viz attention --model ./my-bert --text "Hello world" --layers 0,5 --heads 0,1,2',
        ],
    )
    viz_sub = p.add_subparsers(dest="what", metavar="what")
    pa = viz_sub.add_parser("attention", help="per-layer, per-head attention maps to PNG")
    pa.add_argument(
        "--model", help="Hugging Face checkpoint directory (default: the bundled MiniLM)"
    )
    pa.add_argument("--text", required=True, help="the sentence to visualise")
    pa.add_argument("--output", default="attention.png", help="PNG path (default attention.png)")
    pa.add_argument("--layers", help="comma-separated layer indices (default all)")
    pa.add_argument("--heads", help="comma-separated head indices (default all)")
    pa.set_defaults(func=_cmd_viz)

    p = _parser_with_examples(
        sub,
        "demo",
        "the end-to-end job: fine-tune MiniLM, compress, export, verify, report",
        [
            "tfzoo demo",
            "tfzoo demo --output runs/demo --train-examples 2000",
            "tfzoo demo --model ./my-bert-checkpoint --data reviews.csv",
        ],
    )
    p.add_argument(
        "--model", help="Hugging Face BERT checkpoint directory (default: bundled MiniLM)"
    )
    p.add_argument("--data", help="CSV with `text` and `label` columns (default: movie reviews)")
    p.add_argument("--output", default="runs/demo", help="output directory (default runs/demo)")
    p.add_argument("--train-examples", type=int, default=2000, help="training subset size")
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs (default 2)")
    p.add_argument(
        "--sequence-length", type=int, default=48, help="tokens per sentence (default 48)"
    )
    p.add_argument(
        "--strict", action="store_true", help="exit with code 1 if any artifact fails verification"
    )
    p.set_defaults(func=_cmd_demo)

    p = _parser_with_examples(
        sub,
        "export",
        "export a .keras model to SavedModel, TFLite or ONNX and verify it in its runtime",
        [
            "tfzoo export clf.keras out/clf.tflite --quantize dynamic --sequence-length 128",
            "tfzoo export clf.keras out/clf.onnx",
            "tfzoo export clf.keras out/clf_int8.tflite --quantize int8 --calibration-tokenizer DIR "
            "--calibration-data movie_reviews",
        ],
    )
    p.add_argument("model", help="a .keras file")
    p.add_argument("output", help="*.tflite, *.onnx, or a directory for a SavedModel")
    p.add_argument("--format", choices=["saved_model", "tflite", "onnx"])
    p.add_argument("--quantize", choices=["dynamic", "float16", "int8", "int16x8"])
    p.add_argument("--sequence-length", type=int, help="fixed sequence length (default dynamic)")
    p.add_argument("--calibration-data", help="movie_reviews, sms_spam or a CSV with a text column")
    p.add_argument("--calibration-tokenizer", help="tokenizer directory for --calibration-data")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=_cmd_export)

    p = _parser_with_examples(
        sub,
        "verify",
        "re-check exported artifacts with the standalone runners (no tfzoo import)",
        ["tfzoo verify out/clf.tflite", "tfzoo verify out/clf.onnx out/clf_savedmodel"],
    )
    p.add_argument("artifacts", nargs="+", help="artifacts written by `tfzoo export`")
    p.set_defaults(func=_cmd_verify)

    p = _parser_with_examples(
        sub,
        "compress",
        "prune a .keras model (magnitude sparsity or structured heads/FFN removal)",
        [
            "tfzoo compress prune clf.keras pruned.keras --sparsity 0.5",
            "tfzoo compress structured clf.keras small.keras --heads 0.3 --ffn 0.3",
        ],
    )
    csub = p.add_subparsers(dest="how", metavar="how")
    pp = csub.add_parser("prune", help="one-shot magnitude pruning to a target sparsity")
    pp.add_argument("model")
    pp.add_argument("output")
    pp.add_argument("--sparsity", type=float, default=0.5)
    pp.add_argument("--block", default="1x1", help="block size ROWSxCOLS, e.g. 1x4")
    pp.add_argument("--overwrite", action="store_true")
    pp.set_defaults(func=_cmd_prune)
    ps = csub.add_parser("structured", help="remove attention heads and FFN neurons (magnitude)")
    ps.add_argument("model")
    ps.add_argument("output")
    ps.add_argument("--heads", type=float, default=0.3, help="fraction of heads to remove")
    ps.add_argument("--ffn", type=float, default=0.3, help="fraction of FFN neurons to remove")
    ps.add_argument("--overwrite", action="store_true")
    ps.set_defaults(func=_cmd_structured)

    from tfzoo.train.cli import add_train_parser

    add_train_parser(sub)
    return parser


def _load_keras(path):
    import keras

    import tfzoo  # noqa: F401  (registers the tfzoo classes for safe loading)

    if not os.path.exists(path):
        raise UserError(f"{path} does not exist")
    if not path.endswith(".keras"):
        raise UserError(f"{path} is not a .keras file; save the model with model.save('m.keras')")
    return keras.saving.load_model(path)


def _save_keras(model, path, overwrite):
    if os.path.exists(path) and not overwrite:
        raise UserError(f"{path} exists; pass --overwrite to replace it")
    if not path.endswith(".keras"):
        raise UserError(f"output must end with .keras, got {path}")
    tmp = path + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)


def _cmd_export(args):
    from tfzoo.export import export

    model = _load_keras(args.model)
    calibration = None
    if args.calibration_data:
        if not args.calibration_tokenizer:
            raise UserError("--calibration-data needs --calibration-tokenizer DIR")
        from tfzoo import data
        from tfzoo.text import tokenizer_from_pretrained

        loaders = {"movie_reviews": data.load_movie_reviews, "sms_spam": data.load_sms_spam}
        if args.calibration_data in loaders:
            texts = loaders[args.calibration_data]().train.texts[:100]
        else:
            texts = data.load_csv(args.calibration_data, label_column=None).texts[:100]
        tokenizer = tokenizer_from_pretrained(
            args.calibration_tokenizer, sequence_length=args.sequence_length or 128
        )
        names = getattr(model, "backbone", model).input_names
        calibration = []
        for text in texts:
            enc = tokenizer([text])
            calibration.append(
                {k: _to_numpy(v).astype("int32") for k, v in enc.items() if k in names}
            )
    export(
        model,
        args.output,
        format=args.format,
        quantize=args.quantize,
        representative_data=calibration,
        sequence_length=args.sequence_length,
        overwrite=args.overwrite,
    )
    return 0


def _cmd_verify(args):
    from tfzoo.export import verify

    failed = 0
    for path in args.artifacts:
        try:
            result = verify(path)
            print(
                f"{path}: ok ({result.get('timing', {}).get('median_ms', float('nan')):.2f} ms median)"
            )
        except Exception as e:  # a failed verification is reported, and the others still run
            if isinstance(e, ValueError):
                raise
            print(f"{path}: FAILED: {str(e).splitlines()[0]}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _cmd_prune(args):
    import numpy as np

    from tfzoo import compress

    try:
        rows, cols = (int(v) for v in args.block.lower().split("x"))
    except ValueError as e:
        raise UserError(f"--block must look like 1x4, got {args.block!r}") from e
    model = _load_keras(args.model)
    wrapped = compress.prune_low_magnitude(
        model,
        compress.ConstantSparsity(args.sparsity, begin_step=0, frequency=1),
        block_size=(rows, cols),
    )
    wrapped.update_masks(args.sparsity)
    stripped = compress.strip_pruning(wrapped)
    report = compress.sparsity_report(stripped)
    _save_keras(stripped, args.output, args.overwrite)
    values = list(report.values())
    print(f"saved {args.output}: mean sparsity {np.mean(values):.3f} over {len(values)} kernels")
    return 0


def _cmd_structured(args):
    from tfzoo import compress

    model = _load_keras(args.model)
    small = compress.prune_structured(model, heads_fraction=args.heads, ffn_fraction=args.ffn)
    _save_keras(small, args.output, args.overwrite)
    print(f"saved {args.output}: {model.count_params():,} -> {small.count_params():,} parameters")
    return 0


def main(argv=None):
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except (UserError, ValueError, FileNotFoundError, PermissionError, ModuleNotFoundError) as e:
        if os.environ.get("TFZOO_DEBUG"):
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"tfzoo {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
