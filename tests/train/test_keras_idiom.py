"""The plain Keras multi-device idiom trains every tfzoo task model (issue 12, item 1).

`with strategy.scope(): model = tfzoo.build(...); model.compile(...)`, then `model.fit(ds)` on
int32 inputs: Keras 3.15 builds the model's metrics from the first distributed batch reduced
with `strategy.reduce("MEAN")` (int32 ids come back float64); tfzoo models build from the first
replica's batch instead. Fresh processes: the CPU must be split (or the workers configured)
before TensorFlow starts.
"""

import json
import os
import sys

import numpy as np
import pytest

from tests.train.cluster import run_mirrored, run_two_workers

SCRIPT = os.path.join(os.path.dirname(__file__), "keras_idiom_script.py")
sys.path.insert(0, os.path.dirname(__file__))
from keras_idiom_script import MODELS  # noqa: E402

LABELS = sorted(label for label, *_ in MODELS)


def _check(result):
    assert result["replicas"] == 2
    assert sorted(result["models"]) == LABELS
    for label, out in result["models"].items():
        assert len(out["loss"]) == 1 and np.isfinite(out["loss"][0]), label
        assert np.isfinite(out["eval_loss"]), label
        assert out["max_weight_change"] > 1e-4, label  # fit really trained


def test_mirrored_strategy_plain_idiom_trains_every_task_model(tmp_path):
    out = tmp_path / "mirrored.json"
    run_mirrored(SCRIPT, out, timeout=1800)
    _check(json.loads(out.read_text()))


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_plain_idiom_trains_every_task_model(tmp_path):
    outputs = [tmp_path / f"worker{i}.json" for i in range(2)]
    run_two_workers(SCRIPT, outputs, timeout=1800)
    results = [json.loads(o.read_text()) for o in outputs]
    for result in results:
        _check(result)
    for label in LABELS:  # the workers hold the same weights after training
        a, b = (r["models"][label]["checksum"] for r in results)
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=label)
