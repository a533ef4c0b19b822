"""`tfzoo demo`: the end-to-end job (`tfzoo.demo.run`) from the command line."""

from tfzoo.cli.common import add_command, positive
from tfzoo.cli.errors import UserError, check_output_path


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "demo",
        "the end-to-end job: fine-tune MiniLM, compress, export, verify, report",
        [
            "tfzoo demo",
            "tfzoo demo --output runs/demo --train-examples 2000",
            "tfzoo demo --model ./my-bert-checkpoint --data reviews.csv",
            "tfzoo demo --decoder",
        ],
    )
    p.add_argument(
        "--model", help="Hugging Face BERT checkpoint directory (default: bundled MiniLM)"
    )
    p.add_argument("--data", help="CSV with `text` and `label` columns (default: movie reviews)")
    p.add_argument(
        "--output",
        help="output directory (default runs/demo, runs/demo-decoder with --decoder)",
    )
    p.add_argument("--train-examples", type=positive, default=2000, help="training subset size")
    p.add_argument("--epochs", type=positive, default=2, help="fine-tuning epochs (default 2)")
    p.add_argument(
        "--sequence-length", type=positive, default=48, help="tokens per sentence (default 48)"
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
    p.add_argument(
        "--decoder",
        action="store_true",
        help="the decoder demo instead: SmolLM2-135M-Instruct -> LoRA fine-tune on news text -> "
        "int8 and int4 .litertlm bundles verified in LiteRT-LM -> size, perplexity, speed and "
        "a chat answer per bundle",
    )
    p.add_argument(
        "--decoder-checkpoint",
        help="with --decoder: a chat checkpoint (GGUF or Hugging Face folder) instead of SmolLM2",
    )
    p.add_argument(
        "--steps", type=positive, default=8, help="with --decoder: LoRA steps (default 8)"
    )
    p.set_defaults(func=run)


def run(args):
    from tfzoo import demo

    if args.decoder:
        output = args.output or "runs/demo-decoder"
        check_output_path(output, overwrite=True, option="--output", directory=True)
        return demo.run_decoder(
            output=output,
            checkpoint=args.decoder_checkpoint,
            steps=args.steps,
            strict=args.strict,
        )
    if args.decoder_checkpoint:
        raise UserError("--decoder-checkpoint needs --decoder.")
    args.output = args.output or "runs/demo"
    # The demo's own output rules (an earlier demo run is reused, other files need --overwrite)
    # are checked by demo.run; here only that --output can be a folder we can write to.
    demo.check_output_folder(args.output, args.overwrite)
    check_output_path(args.output, overwrite=True, option="--output", directory=True)
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
