"""The `tfzoo` command.

Every sub-command prints examples in its `--help`. A user mistake (unknown model, missing file,
bad option) is one line on stderr and exit code 2, never a traceback; set `TFZOO_DEBUG=1` to see
the traceback anyway.
"""

import argparse
import json
import os
import sys
import tempfile
import textwrap


class UserError(ValueError):
    """A mistake in the command line or its inputs: reported in one line, exit code 2."""


def check_output_path(path, overwrite=False, option="--output", directory=False):
    """Fails with one clear line, before any work, if `path` cannot be written.

    Refuses an existing `path` unless `overwrite` (an existing *directory* is accepted when
    `directory=True`: the caller decides what it may replace inside), a path below a regular
    file (`notes.txt/out`), and a place where no file can be created. The last check is real: a
    probe file is created and removed in the nearest existing folder, so a read-only file system
    is caught even for root, for whom permission bits do not count.
    """
    path = os.fspath(path)
    absolute = os.path.abspath(path)
    exists = os.path.lexists(absolute)
    if exists and not overwrite and not (directory and os.path.isdir(absolute)):
        raise UserError(
            f"{option} {path} already exists; pass --overwrite to replace it, or choose another "
            f"{option}."
        )
    if exists and directory and not os.path.isdir(absolute):
        raise UserError(f"{option} {path} is a file, not a directory; choose another {option}.")
    folder = absolute if (directory and os.path.isdir(absolute)) else os.path.dirname(absolute)
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise UserError(
            f"{option} {path} cannot be created: {folder} is a file, not a directory. Fix: "
            f"choose another {option}."
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".tfzoo-write-check-", dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise UserError(
            f"{option} {path} is not writable ({error.strerror} in {folder}). Fix: choose a "
            f"folder you can write to for {option}."
        ) from None
    return path


# --- TensorFlow's C++ start-up lines ---------------------------------------------------------
# Loading TensorFlow's shared libraries logs "oneDNN custom operations are on" and "Could not
# find cuda drivers" through absl *before* absl is initialised, so no environment variable
# (TF_CPP_MIN_LOG_LEVEL, TF_CPP_MAX_VLOG_LEVEL, GLOG_minloglevel, ABSL_MIN_LOG_LEVEL: all tried)
# silences them. The `tfzoo` command alone (never `import tfzoo`) sends file descriptor 2 to a
# temporary file while the package imports TensorFlow, then writes back every line except
# these known notices. Nothing about TensorFlow changes (oneDNN stays on); TFZOO_DEBUG=1 shows
# everything.
_STARTUP_NOTICES = (
    ("absl::InitializeLog()", "All log messages before"),
    ("port.cc:", "oneDNN custom operations are on"),
    ("cudart_stub.cc:", "Could not find cuda drivers"),
    ("cpu_feature_guard.cc:", "This TensorFlow binary is optimized"),
    ("To enable the following instructions:", "rebuild TensorFlow"),
)
_capture = None  # (saved fd 2, temporary file) while the start-up lines are being held


def _is_startup_notice(line):
    return any(a in line and b in line for a, b in _STARTUP_NOTICES)


def _running_as_command():
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name in ("tfzoo", "tfzoo.exe") and not os.environ.get("TFZOO_DEBUG")


def hold_startup_lines():
    """Called first by `tfzoo/__init__.py`; acts only in the `tfzoo` command (see above)."""
    global _capture
    if _capture is not None or not _running_as_command():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    try:
        sys.stderr.flush()
        held = tempfile.TemporaryFile()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
    except (OSError, ValueError):
        return  # no usable stderr: nothing to hide
    _capture = (saved, held)
    import atexit

    atexit.register(release_startup_lines)  # an import that fails still shows its traceback


def release_startup_lines():
    """Restores stderr and writes back what TensorFlow's import printed, minus the notices."""
    global _capture
    if _capture is None:
        return
    saved, held = _capture
    _capture = None
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(saved, 2)
    os.close(saved)
    held.seek(0)
    text = held.read().decode("utf-8", "replace")
    held.close()
    kept = "".join(line for line in text.splitlines(keepends=True) if not _is_startup_notice(line))
    if kept:
        sys.stderr.write(kept)
        sys.stderr.flush()


def _quiet_tensorflow():
    release_startup_lines()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the usage is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _known_values(name, task):
    """The values `name` builds with: the model classes' defaults, then the preset's."""
    import inspect

    import tfzoo
    from tfzoo.zoo import FAMILIES

    preset = tfzoo.get_config(name)
    family = FAMILIES[preset["family"]]
    classes = [family.backbone, family.tasks.get(task)]
    values = {}
    for cls in filter(None, classes):
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                values.setdefault(parameter.name, parameter.default)
    values.update(preset["config"])
    return values


def _check_override_types(name, overrides, known):
    """Each `--set` value must have the type of the model's own value (`hidden_dim=abc` fails).

    Keys whose default is `None` (e.g. `head_dim`) are checked by the model itself.
    """
    for key, value in overrides.items():
        default = known.get(key)
        if default is None:
            continue
        kind = type(default)
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True  # --set dropout=0 means 0.0
        if not ok:
            shown = json.dumps(default) if kind is not str else default
            raise UserError(
                f"--set {key}={_shown(value)}: {key} must be {_KINDS.get(kind, kind.__name__)} "
                f"({name} has {key}={shown}). Fix: e.g. --set {key}={shown}"
            )


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value)


def _cmd_build(args):
    import tfzoo

    overrides = _parse_overrides(args.set)
    if args.num_classes is not None:
        overrides["num_classes"] = args.num_classes
    if args.output:
        _check_keras_output(args.output, args.overwrite, "--output")
    try:
        _check_override_types(args.name, overrides, _known_values(args.name, args.task))
        model = tfzoo.build(args.name, task=args.task, **overrides)
    except (TypeError, ValueError, ArithmeticError) as e:
        if isinstance(e, UserError):
            raise
        # The model rejected a value (ValueError names it) or choked on it (TypeError,
        # ZeroDivisionError): either way one of the --set values is wrong.
        given = " ".join(f"--set {k}={_shown(v)}" for k, v in overrides.items())
        message = _one_line(e)
        if given and "Fix" not in message:
            end = "" if message.endswith(".") else "."
            message = f"{message}{end} Fix: correct or drop {given}."
        raise UserError(message) from e
    print(f"{args.name} ({type(model).__name__}): {model.count_params():,} parameters")
    if args.output:
        _save_keras(model, args.output, args.overwrite)
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
    if not args.output.lower().endswith(".png"):
        raise UserError(f"--output must end with .png, got {args.output}")
    check_output_path(args.output, args.overwrite)
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
        overwrite=args.overwrite,
    )


def build_parser():
    from tfzoo.export.formats import QUANTIZE_MODES

    parser = _Parser(
        prog="tfzoo",
        description="A Keras 3 Transformer zoo you can trust, train, compress and ship.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """\
            examples:
              tfzoo models
              tfzoo build bert-tiny --task classification --num-classes 2 --output clf.keras
              tfzoo train classify --model bert-tiny --data reviews.csv --output runs/clf
              tfzoo export runs/clf/model.keras out/clf.tflite --quantize dynamic
              tfzoo demo

            Run `tfzoo <command> --help` for the examples of each command. A mistake is reported
            in one line with exit code 2 (set TFZOO_DEBUG=1 for the full traceback)."""
        ),
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
    viz_sub = p.add_subparsers(dest="what", metavar="what", required=True)
    pa = _parser_with_examples(
        viz_sub,
        "attention",
        "per-layer, per-head attention maps to PNG",
        [
            'tfzoo viz attention --text "A gripping, beautifully shot film." --output attention.png',
            'tfzoo viz attention --model ./my-bert --text "Hello world" --layers 0,5 --heads 0,1,2',
        ],
    )
    pa.add_argument(
        "--model", help="Hugging Face checkpoint directory (default: the bundled MiniLM)"
    )
    pa.add_argument("--text", required=True, help="the sentence to visualise")
    pa.add_argument("--output", default="attention.png", help="PNG path (default attention.png)")
    pa.add_argument("--layers", help="comma-separated layer indices (default all)")
    pa.add_argument("--heads", help="comma-separated head indices (default all)")
    pa.add_argument("--overwrite", action="store_true", help="replace an existing --output")
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
    p.add_argument("--train-examples", type=_positive, default=2000, help="training subset size")
    p.add_argument("--epochs", type=_positive, default=2, help="fine-tuning epochs (default 2)")
    p.add_argument(
        "--sequence-length", type=_positive, default=48, help="tokens per sentence (default 48)"
    )
    p.add_argument(
        "--strict", action="store_true", help="exit with code 1 if any artifact fails verification"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="write into an existing --output that is not an earlier demo run (the demo's own "
        "output is reused without it)",
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
    p.add_argument(
        "--quantize",
        choices=list(QUANTIZE_MODES),
        help="int8: dense layers int8, LayerNorm/softmax float (the accurate default); "
        "int8-full: every op int8 (strict, for integer-only accelerators)",
    )
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
    csub = p.add_subparsers(dest="how", metavar="how", required=True)
    pp = _parser_with_examples(
        csub,
        "prune",
        "one-shot magnitude pruning to a target sparsity",
        [
            "tfzoo compress prune clf.keras pruned.keras --sparsity 0.5",
            "tfzoo compress prune clf.keras pruned_1x4.keras --sparsity 0.5 --block 1x4",
        ],
    )
    pp.add_argument("model")
    pp.add_argument("output")
    pp.add_argument("--sparsity", type=float, default=0.5)
    pp.add_argument("--block", default="1x1", help="block size ROWSxCOLS, e.g. 1x4")
    pp.add_argument("--overwrite", action="store_true")
    pp.set_defaults(func=_cmd_prune)
    ps = _parser_with_examples(
        csub,
        "structured",
        "remove attention heads and FFN neurons (magnitude)",
        ["tfzoo compress structured clf.keras small.keras --heads 0.3 --ffn 0.3"],
    )
    ps.add_argument("model")
    ps.add_argument("output")
    ps.add_argument("--heads", type=float, default=0.3, help="fraction of heads to remove")
    ps.add_argument("--ffn", type=float, default=0.3, help="fraction of FFN neurons to remove")
    ps.add_argument("--overwrite", action="store_true")
    ps.set_defaults(func=_cmd_structured)

    from tfzoo.train.cli import add_train_parser

    add_train_parser(sub)
    return parser


def check_keras_file(path):
    """Fails in one line unless `path` looks like a `.keras` file (a zip archive)."""
    import zipfile

    if os.path.isdir(path):
        raise UserError(
            f"{path} is a directory, not a .keras model file. Fix: pass the file written by "
            "model.save('m.keras') (or `tfzoo build ... --output m.keras`)."
        )
    if not os.path.exists(path):
        raise UserError(f"{path} does not exist. Fix: pass the path of a .keras model file.")
    if not path.endswith(".keras") or not zipfile.is_zipfile(path):
        what = "does not end with .keras" if not path.endswith(".keras") else "is not a zip archive"
        raise UserError(
            f"{path} is not a Keras model file ({what}). Fix: save the model with "
            "model.save('m.keras') and pass that file."
        )


def _load_keras(path):
    import keras

    import tfzoo  # noqa: F401  (registers the tfzoo classes for safe loading)

    check_keras_file(path)
    try:
        return keras.saving.load_model(path)
    except Exception as e:  # a corrupt or foreign archive is the user's file, not our bug
        if os.environ.get("TFZOO_DEBUG"):
            raise
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(
            f"{path} could not be loaded as a Keras model ({reason}). Fix: re-save it with "
            "model.save('m.keras')."
        ) from e


def _check_keras_output(path, overwrite, option="output"):
    if not path.endswith(".keras"):
        raise UserError(f"{option} must end with .keras, got {path}")
    check_output_path(path, overwrite, option)


def _save_keras(model, path, overwrite):
    _check_keras_output(path, overwrite)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)


def _cmd_export(args):
    from tfzoo.export import export

    # Every input is checked before the model is loaded: a mistake costs seconds, not minutes.
    check_keras_file(args.model)
    check_output_path(args.output, args.overwrite, "output")
    texts = tokenizer = None
    if args.calibration_data:
        if not args.calibration_tokenizer:
            raise UserError(
                "--calibration-data needs --calibration-tokenizer DIR (the model's Hugging Face "
                "tokenizer directory)"
            )
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
    model = _load_keras(args.model)
    calibration = None
    if texts is not None:
        names = getattr(model, "backbone", model).input_names
        calibration = []
        for text in texts:
            enc = tokenizer([text])
            calibration.append(
                {k: _to_numpy(v).astype("int32") for k, v in enc.items() if k in names}
            )
    try:
        export(
            model,
            args.output,
            format=args.format,
            quantize=args.quantize,
            representative_data=calibration,
            sequence_length=args.sequence_length,
            overwrite=args.overwrite,
        )
    except ValueError as e:
        # The library names its Python argument; here the user needs the command's flags.
        if calibration is None and "representative_data" in str(e):
            raise UserError(
                f"--quantize {args.quantize} needs calibration data to set activation ranges "
                f"(a quantization-aware model needs none). Fix: add --calibration-data "
                f"movie_reviews|sms_spam|FILE.csv --calibration-tokenizer DIR, or use "
                f"--quantize dynamic."
            ) from e
        raise
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
    _check_keras_output(args.output, args.overwrite)
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

    _check_keras_output(args.output, args.overwrite)
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
        result = args.func(args)
    except (ValueError, OSError, ModuleNotFoundError) as e:  # UserError is a ValueError
        if os.environ.get("TFZOO_DEBUG"):
            raise
        print(f"tfzoo {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    # `tfzoo train` returns its metrics dict: success. Commands that fail softly return 1.
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _one_line(error):
    """The first line of an error; an OSError without a message gets its reason and file."""
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    # A short message with a command on its own line ("Convert it with\n  python ...") is
    # joined; a long one (a TensorFlow graph trace) is cut to its first line.
    return " ".join(lines) if len(lines) <= 3 else lines[0]


if __name__ == "__main__":
    sys.exit(main())
