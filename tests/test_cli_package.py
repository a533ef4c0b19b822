"""The layout of the `tfzoo` command: one module per command; the library never imports it."""

import ast
import os
import subprocess
import sys

from tfzoo import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_library_module_imports_the_command():
    # Lazy imports inside functions count too: the command depends on the library, not back.
    offenders = []
    for folder, _, files in os.walk(os.path.join(ROOT, "tfzoo")):
        if os.path.join("tfzoo", "cli") in folder:
            continue
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                bad = [m for m in _imports(path) if m == "tfzoo.cli" or m.startswith("tfzoo.cli.")]
                offenders += [f"{os.path.relpath(path, ROOT)}: {m}" for m in bad]
    assert not offenders, offenders


def test_importing_the_library_loads_no_command_module():
    code = (
        "import sys, tfzoo, tfzoo.demo\n"
        "print(sorted(m for m in sys.modules if m == 'tfzoo.cli' or m.startswith('tfzoo.cli.')))"
    )
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_each_command_module_adds_its_sub_command():
    parser = cli.build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    names = [m.__name__.rsplit(".", 1)[1] for m in cli.COMMANDS]
    assert list(subparsers.choices) == names
    for name, sub in subparsers.choices.items():
        leaves = [sub]
        for action in sub._actions:  # `viz attention`, `compress prune`, `train classify`, ...
            if action.choices and isinstance(action.choices, dict):
                leaves = list(action.choices.values())
        for leaf in leaves:
            handler = leaf.get_default("func")
            assert callable(handler) and handler.__module__ == f"tfzoo.cli.{name}", (name, leaf)
