"""Pieces the command modules share: sub-parsers with examples, number types, `.keras` files."""

import argparse
import os
import sys
import textwrap

from tfzoo.cli.errors import UserError, check_keras_file, check_keras_output, one_line


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the usage is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def positive(text):
    """An argparse `type`: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_command(subparsers, name, help, examples, description=None):
    """Adds sub-command `name` whose `--help` ends with `examples` (a list of command lines)."""
    epilog = "examples:\n" + textwrap.indent("\n".join(examples), "  ")
    return subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_input_output(parser, output_help=None):
    """The `MODEL OUTPUT [--overwrite]` arguments of a command that turns one file into another."""
    parser.add_argument("model", help="a .keras file")
    parser.add_argument("output", help=output_help)
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def load_keras(path):
    """Loads a `.keras` file, or fails in one line that names the file and the fix."""
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


def save_keras(model, path, overwrite):
    """Saves `model` to `path` (a `.keras` file) through a temporary file, so never half-written."""
    check_keras_output(path, overwrite)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)


def to_numpy(x):
    import numpy as np

    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def run_parser(parser, argv=None):
    """Parses `argv` with `parser` and runs the chosen command's handler; returns the exit code.

    A user mistake (`ValueError`, `OSError`, a missing optional module) is one line on stderr and
    exit code 2; set `TFZOO_DEBUG=1` for the full traceback.
    """
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except (ValueError, OSError, ModuleNotFoundError) as e:  # UserError is a ValueError
        if os.environ.get("TFZOO_DEBUG"):
            raise
        print(f"tfzoo {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    # `tfzoo train` returns its metrics dict: success. Commands that fail softly return 1.
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
