"""`tfzoo export`: a `.keras` model to SavedModel, TFLite or ONNX, verified in its runtime."""

from tfzoo.cli.common import add_command, add_input_output, load_keras, to_numpy
from tfzoo.cli.errors import UserError, check_keras_file, check_output_path


def add_parser(subparsers):
    from tfzoo.export.formats import QUANTIZE_MODES

    p = add_command(
        subparsers,
        "export",
        "export a .keras model to SavedModel, TFLite or ONNX and verify it in its runtime",
        [
            "tfzoo export clf.keras out/clf.tflite --quantize dynamic --sequence-length 128",
            "tfzoo export clf.keras out/clf.onnx",
            "tfzoo export clf.keras out/clf_int8.tflite --quantize int8 --calibration-tokenizer DIR "
            "--calibration-data movie_reviews",
        ],
    )
    add_input_output(p, "*.tflite, *.onnx, or a directory for a SavedModel")
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
    p.set_defaults(func=run)


def _calibration_texts(args):
    """The texts and tokenizer of `--calibration-data`, or `(None, None)` without it."""
    if not args.calibration_data:
        return None, None
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
    return texts, tokenizer


def run(args):
    from tfzoo.export import export

    # Every input is checked before the model is loaded: a mistake costs seconds, not minutes.
    check_keras_file(args.model)
    check_output_path(args.output, args.overwrite, "output")
    texts, tokenizer = _calibration_texts(args)
    model = load_keras(args.model)
    calibration = None
    if texts is not None:
        names = getattr(model, "backbone", model).input_names
        calibration = [
            {k: to_numpy(v).astype("int32") for k, v in tokenizer([text]).items() if k in names}
            for text in texts
        ]
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
