"""`benchmarks/probe_new_user.py` keeps working: its judge and a fast subset of its cases.

The whole probe (>= 100 cases, minutes) is run by hand; here ten in-process cases that need
no training or export must not be BAD, and the judge must tell GOOD, POOR and BAD apart.
"""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_probe():
    path = os.path.join(ROOT, "benchmarks", "probe_new_user.py")
    spec = importlib.util.spec_from_file_location("probe_new_user", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = _load_probe()

FAST = [
    "build_unknown_name_suggests",
    "build_unknown_override",
    "ckpt_corrupted_bytes_huge",
    "ckpt_roberta_model_type_with_bert_architecture",
    "ckpt_missing_tensor",
    "save_pretrained_existing_dir",
    "csv_not_utf8",
    "classification_dataset_batch_size_0",
    "wordpiece_vocabulary_without_unk",
    "prune_structured_heads_1.0",
]


def test_the_probe_has_at_least_100_cases_covering_every_issue_item():
    cases = probe.all_cases()
    names = [c.name for c in cases]
    assert len(cases) >= 100 and len(set(names)) == len(names)
    assert {c.item for c in cases} >= set(range(1, 12))
    assert all(c.argv for c in cases if c.group == "cli")


def test_the_judge_tells_good_poor_and_bad_apart():
    case = probe.Case("x", "g", "ValueError naming num_heads", keywords=("num_heads",))
    good = ValueError("`num_heads` must be an int >= 1. Received: num_heads=0")
    assert probe.judge_error(case, good, "")[0] == probe.GOOD
    assert probe.judge_error(case, None, "")[0] == probe.BAD  # silently accepted
    assert probe.judge_error(case, good, "created ['m.tflite']")[0] == probe.BAD
    assert probe.judge_error(case, ZeroDivisionError("modulo by zero"), "")[0] == probe.POOR
    assert probe.judge_error(case, ValueError("bad value"), "")[0] == probe.POOR
    assert probe.judge_error(case, ValueError("num_heads\n" * 20), "")[0] == probe.POOR
    # Words in TensorFlow's stack frames do not count as a message that names the problem.
    graph = ValueError("Graph execution error:\n\nDetected at node x\n  File num_heads.py\n\noops")
    assert probe.judge_error(case, graph, "")[0] == probe.POOR

    cli = probe.Case("c", "cli", "exit 2", keywords=("hidden_dim",), argv=["build"])
    line = "tfzoo build: error: hidden_dim must be a whole number. Fix: ...\n"
    assert probe.judge_cli(cli, 2, line, "")[0] == probe.GOOD
    assert probe.judge_cli(cli, 0, "", "")[0] == probe.BAD
    assert probe.judge_cli(cli, -11, "", "")[0] == probe.BAD
    assert probe.judge_cli(cli, 1, "Traceback (most recent call last):\nTypeError", "")[0] == (
        probe.POOR
    )
    assert probe.judge_cli(cli, 2, line + line, "")[0] == probe.POOR


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    (root / "fixtures").mkdir()
    return probe.Context(str(root))


@pytest.mark.parametrize("name", FAST)
def test_fast_cases_are_not_bad(context, name):
    case = next(c for c in probe.all_cases() if c.name == name)
    verdict, happened = probe.run_case(case, context)
    assert verdict != probe.BAD, happened
