"""`tfzoo compress prune|structured`: prune a `.keras` model."""

from tfzoo.cli.common import add_command, add_input_output, load_keras, save_keras
from tfzoo.cli.errors import UserError, check_keras_output


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "compress",
        "prune a .keras model (magnitude sparsity or structured heads/FFN removal)",
        [
            "tfzoo compress prune clf.keras pruned.keras --sparsity 0.5",
            "tfzoo compress structured clf.keras small.keras --heads 0.3 --ffn 0.3",
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
