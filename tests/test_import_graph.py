"""tfzoo's import graph: every module imports alone, no cycles, and dependencies point one way.

The layering (docs/contributing.md): layers <- models <- zoo <- convert/train/compress/export <- cli.
A layer never imports a model, a model family never imports the zoo (the zoo reads the families'
`FAMILY` declarations), and nothing in the library imports the command line.
"""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tfzoo"

# Rank of each top-level part of tfzoo: a module may import modules of its own rank or lower.
RANKS = {
    "version": 0,
    "_startup": 0,
    "io": 0,  # file formats below the models (GGUF reading)  # stdlib only: holds TensorFlow's start-up notices for the command
    "text": 0,
    "data": 0,
    "layers": 0,
    "models": 1,
    "zoo": 2,
    "convert": 3,
    "train": 3,
    "compress": 3,
    "export": 3,
    "testing": 3,
    "viz": 3,
    "demo": 4,  # tfzoo.demo: the end-to-end demo, orchestration over the library
    "tfzoo": 5,  # tfzoo/__init__.py: the public API re-exports everything
    "cli": 6,  # tfzoo.cli.*: the `tfzoo` command, on top of the public API
}
KNOWN_CLI_EDGES = set()  # none left: issue 13 item 3 made the command line a package


def _modules():
    """Dotted module name -> path, for every `.py` file of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _import_graph(modules):
    """Module -> the tfzoo modules it imports anywhere in its file (also inside functions).

    `from tfzoo.models import slots` points at the module `tfzoo.models.slots`; `from tfzoo.layers
    import LayerNorm` at the package `tfzoo.layers` (its `__init__.py`).
    """

    def resolve(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {resolve(a.name) for a in node.names if a.name.split(".")[0] == "tfzoo"}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    package = (
                        name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    )
                    package = package[: len(package) - node.level + 1]
                    base = ".".join(package + ([base] if base else []))
                if base.split(".")[0] != "tfzoo":
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else resolve(base))
        targets.discard(name)
        graph[name] = targets
    return graph


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "tfzoo"


def _cycles(graph):
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    assert "tfzoo.zoo.families" in modules and "tfzoo.models.bert.bert_hf" in modules
    return _import_graph(modules)


def test_the_graph_sees_imports(graph):
    # Guards the parser: these edges exist, so a graph without them would prove nothing.
    assert "tfzoo.models.slots" in graph["tfzoo.models.bert.bert_hf"]
    assert "tfzoo.models.bert" in graph["tfzoo.zoo.families"]
    assert "tfzoo.zoo" in graph["tfzoo.convert.hugging_face"]
    assert "tfzoo.layers" in graph["tfzoo.models.decoder_backbone"]


def test_no_import_cycle(graph):
    pruned = {
        m: {t for t in targets if (m, t) not in KNOWN_CLI_EDGES} for m, targets in graph.items()
    }
    assert _cycles(pruned) == []


def test_dependencies_point_one_way(graph):
    unknown = sorted({_part(m) for m in graph} - set(RANKS))
    assert not unknown, f"new parts of tfzoo {unknown}: give them a rank in RANKS"
    upward = [
        f"{m} -> {t}"
        for m, targets in sorted(graph.items())
        for t in sorted(targets)
        if RANKS[_part(t)] > RANKS[_part(m)] and (m, t) not in KNOWN_CLI_EDGES
    ]
    assert upward == []


def test_only_the_command_line_imports_the_command_line(graph):
    into_cli = [
        f"{m} -> {t}"
        for m, targets in sorted(graph.items())
        for t in sorted(targets)
        if _part(t) == "cli" and _part(m) != "cli" and (m, t) not in KNOWN_CLI_EDGES
    ]
    assert into_cli == []


# Imports every module in a fresh interpreter with no tfzoo module loaded before it, not even
# tfzoo/__init__.py (a bare package object stands in for it), so each module must bring what it
# needs in an order that works. Keras is loaded once; tfzoo modules are dropped between imports.
_IMPORT_EACH = textwrap.dedent(
    """
    import importlib, sys, traceback, types
    import keras  # noqa: F401  (loaded once for all)

    package_dir, names = sys.argv[1], sys.argv[2:]
    failures = []
    for name in names:
        for key in [k for k in sys.modules if k == "tfzoo" or k.startswith("tfzoo.")]:
            del sys.modules[key]
        if name != "tfzoo":
            stand_in = types.ModuleType("tfzoo")
            stand_in.__path__ = [package_dir]
            sys.modules["tfzoo"] = stand_in
        try:
            importlib.import_module(name)
        except Exception:
            failures.append(name + ":\\n" + traceback.format_exc(limit=-4))
    print("\\n".join(failures) if failures else "all imported")
    sys.exit(1 if failures else 0)
    """
)


def test_every_module_imports_alone():
    # `__main__` modules run their command when imported (`python -m`): parsed above, not run.
    names = sorted(n for n in _modules() if not n.endswith(".__main__"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, str(PACKAGE), *names],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "all imported" in result.stdout
