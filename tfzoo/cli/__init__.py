"""The `tfzoo` command.

One module per sub-command, each with `add_parser(subparsers)` (its sub-parser, whose handler is
set with `set_defaults(func=...)`) and that handler; `COMMANDS` lists them in `--help` order.
`errors.py` holds the one `UserError` and the checks the commands share, `common.py` the parser
and `.keras` helpers, `startup.py` TensorFlow's start-up output. The command imports the library;
the library never imports the command.

Every sub-command prints examples in its `--help`. A user mistake (unknown model, missing file,
bad option) is one line on stderr and exit code 2, never a traceback; set `TFZOO_DEBUG=1` to see
the traceback anyway.
"""

import argparse
import textwrap

from tfzoo.cli import build, chat, compress, demo, export, models, train, verify, viz
from tfzoo.cli.common import Parser, run_parser
from tfzoo.cli.errors import UserError, check_keras_file, check_output_path
from tfzoo.cli.startup import quiet_tensorflow

__all__ = ["COMMANDS", "UserError", "build_parser", "check_keras_file", "check_output_path", "main"]

COMMANDS = (models, build, viz, demo, export, verify, compress, train, chat)

EPILOG = """\
examples:
  tfzoo models
  tfzoo build bert-tiny --task classification --num-classes 2 --output clf.keras
  tfzoo train classify --model bert-tiny --data reviews.csv --output runs/clf
  tfzoo export runs/clf/model.keras out/clf.tflite --quantize dynamic
  tfzoo demo

Run `tfzoo <command> --help` for the examples of each command. A mistake is reported
in one line with exit code 2 (set TFZOO_DEBUG=1 for the full traceback)."""


def build_parser():
    """The `tfzoo` parser: one sub-parser per module in `COMMANDS`."""
    from tfzoo.version import __version__

    parser = Parser(
        prog="tfzoo",
        description="A Keras 3 Transformer zoo you can trust, train, compress and ship.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(EPILOG),
    )
    parser.add_argument("--version", action="version", version=f"tfzoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="command")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv=None):
    """Runs `tfzoo ARGV...`; returns the exit code (2 for a user mistake, in one line)."""
    quiet_tensorflow()
    return run_parser(build_parser(), argv)
