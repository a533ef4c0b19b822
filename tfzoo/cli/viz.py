"""`tfzoo viz attention`: per-layer, per-head attention maps of a sentence, as a PNG."""

import os

from tfzoo.cli.common import add_command, to_numpy
from tfzoo.cli.errors import UserError, check_output_path

EXAMPLES = [
    'tfzoo viz attention --text "A gripping, beautifully shot film." --output attention.png',
    'tfzoo viz attention --model ./my-bert --text "Hello world" --layers 0,5 --heads 0,1,2',
]


def add_parser(subparsers):
    p = add_command(subparsers, "viz", "visualise a model (attention maps of a sentence)", EXAMPLES)
    what = p.add_subparsers(dest="what", metavar="what", required=True)
    pa = add_command(what, "attention", "per-layer, per-head attention maps to PNG", EXAMPLES)
    pa.add_argument(
        "--model", help="Hugging Face checkpoint directory (default: the bundled MiniLM)"
    )
    pa.add_argument("--text", required=True, help="the sentence to visualise")
    pa.add_argument("--output", default="attention.png", help="PNG path (default attention.png)")
    pa.add_argument("--layers", help="comma-separated layer indices (default all)")
    pa.add_argument("--heads", help="comma-separated head indices (default all)")
    pa.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    pa.set_defaults(func=run)


def run(args):
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
    n = int(to_numpy(inputs["padding_mask"]).sum())
    inputs = {k: to_numpy(v)[:, :n] for k, v in inputs.items()}
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
