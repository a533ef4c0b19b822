"""`tfzoo.compress.recipe`, layer dropping, the mean-pooled student and the op lists."""

import keras
import numpy as np
import pytest

from tfzoo import compress
from tfzoo.testing import tiny_classification_data, tiny_model

SEQ, VOCAB = 16, 200
SIZES = dict(num_layers=3, hidden_dim=32, num_heads=4, intermediate_dim=64)
FAST = dict(latency_runs=3, calibration_examples=8, jit_compile=False)


def _bert(**overrides):
    sizes = dict(SIZES, vocabulary_size=VOCAB, max_sequence_length=32, dropout=0.0)
    return tiny_model("bert", "classification", **{**sizes, **overrides})


def _data(n, seed):
    x, y = tiny_classification_data(n, SEQ, vocabulary_size=VOCAB, seed=seed)
    return {k: np.asarray(v, "int32") for k, v in x.items()}, np.asarray(y, "int32")


@pytest.fixture(scope="module")
def trained():
    """A tiny BERT classifier that learned the rule (accuracy 1.0 on held-out rows)."""
    keras.utils.set_random_seed(0)
    model = _bert()
    x, y = _data(128, 0)
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(True),
        jit_compile=False,
    )
    model.fit(x, y, batch_size=32, epochs=4, verbose=0)
    test = _data(64, 1)
    return model, (x, y), test


# --- the spec and the one-line errors ------------------------------------------------------------


def test_parse_recipe():
    assert compress.parse_recipe("distill:2,structured:0.4:0.3,qat,int8") == {
        "quantize": "int8",
        "student_layers": 2,
        "prune": "structured",
        "heads": 0.4,
        "ffn": 0.3,
        "qat": True,
    }
    assert compress.parse_recipe("layers:4,int8-full") == {
        "quantize": "int8-full",
        "prune": "layers",
        "keep_layers": 4,
    }
    assert compress.parse_recipe("float32") == {"quantize": None}
    for bad, words in [
        ("int8,qat", "out of order"),
        ("structured:0.3,layers:2", "out of order"),
        ("prune:0.5", "unknown"),
        ("structured:a", "not numbers"),
        ("distill", "wrong number"),
        ("", "no steps"),
    ]:
        with pytest.raises(ValueError, match=words) as e:
            compress.parse_recipe(bad)
        assert "\n" not in str(e.value)


def test_incompatible_combinations_fail_in_one_line(trained):
    model, train, _ = trained
    cases = [
        (dict(prune="structured", heads=4), "only 4"),  # 4 heads per block: none would remain
        (dict(prune="structured", heads=1.5), "fraction"),
        (dict(prune="layers", keep_layers=3), "keep 1..2"),
        (dict(student_layers=3), "1..2"),
        (dict(qat=True, quantize="dynamic"), "qat=True"),
        (dict(prune="magnitude", sparsity=1.0), "sparsity"),
        (dict(prune="pruned"), "prune="),
        (dict(quantize="int4"), "quantize="),
    ]
    for kwargs, words in cases:
        with pytest.raises(ValueError, match=words) as e:
            compress.recipe(model, train, **kwargs)
        assert "\n" not in str(e.value), kwargs
    with pytest.raises(ValueError, match="train=\\(inputs, labels\\)"):
        compress.recipe(model, train[0], prune="structured")
    with pytest.raises(ValueError, match="has only 4 heads; remove at most 3"):
        compress.prune_structured(model, remove_heads=5)


def test_pruning_a_qat_model_is_refused(trained):
    qat = compress.prepare_qat(trained[0])
    for call in (
        lambda: compress.prune_structured(qat),
        lambda: compress.drop_layers(qat, 2, layers=[0, 1]),
        lambda: compress.prune_low_magnitude(qat, compress.ConstantSparsity(0.5, 0)),
        lambda: compress.recipe(qat, trained[1], prune="structured"),
    ):
        with pytest.raises(ValueError, match="quantization-aware model") as e:
            call()
        assert "\n" not in str(e.value)


def test_int8_full_names_the_float_op(tmp_path):
    # Llama's RMSNorm squares its input (SQUARE has no int8 kernel) and RoPE negates half of
    # the query/key channels: the converter leaves them float in a full-integer file.
    model = tiny_model("llama", "causal_lm", vocabulary_size=64)
    x = {
        "token_ids": np.random.default_rng(0).integers(1, 60, (8, SEQ)).astype("int32"),
        "padding_mask": np.ones((8, SEQ), "int32"),
    }
    with pytest.raises(ValueError, match=r"int8-full.*SQUARE \(x\d+\)") as e:
        compress.recipe(model, x, quantize="int8-full", path=str(tmp_path / "l.tflite"))
    assert "\n" not in str(e.value) and "quantize='int8'" in str(e.value)


def test_op_lists_of_the_export_modes(trained, tmp_path):
    """Which ops compute in int8 / float for float32, dynamic and strict int8-full files."""
    model, (x, _), _ = trained
    ops = {}
    for quantize in (None, "dynamic", "int8-full"):
        result = compress.recipe(
            model, x, quantize=quantize, path=str(tmp_path / f"{quantize}.tflite"), **FAST
        )
        ops[quantize] = compress.op_dtypes(result.path)
    # 3 blocks x (q, k, v, output, 2 FFN) + pooler + classifier = 20 FULLY_CONNECTED.
    assert ops[None]["FULLY_CONNECTED"] == {"float32": 20} and "QUANTIZE" not in ops[None]
    assert ops["dynamic"]["FULLY_CONNECTED"] == {"float32": 20}  # float inputs ...
    assert compress.float_ops(str(tmp_path / "dynamic.tflite"))["BATCH_MATMUL"] == 6
    full = ops["int8-full"]  # ... and strict: every compute op int8 (check_integer_only passed)
    assert full["FULLY_CONNECTED"] == {"int8": 20} and full["BATCH_MATMUL"] == {"int8": 6}
    assert full["SOFTMAX"] == {"int8": 3} and full["MEAN"] == {
        "int8": 14
    }  # 7 LayerNorms x (mean, variance)
    assert compress.float_ops(str(tmp_path / "int8-full.tflite")) == {}


# --- layer dropping and the student --------------------------------------------------------------


def _make_identity_block(block):
    """Post-LN block whose attention and FFN add nothing: it returns LN(x) = x (normalised x)."""
    for dense in (block.self_attention.output_dense, block.feed_forward.output_dense):
        dense.kernel.assign(np.zeros(dense.kernel.shape, "float32"))
        dense.bias.assign(np.zeros(dense.bias.shape, "float32"))


def test_drop_layers_removes_the_block_that_changes_nothing(tmp_path):
    keras.utils.set_random_seed(3)
    model = _bert()
    _make_identity_block(model.backbone.transformer_layers[1])
    x, _ = _data(32, 2)
    batches = [{k: v[i : i + 8] for k, v in x.items()} for i in range(0, 32, 8)]
    scores = compress.layer_importance(model, batches)
    assert scores.shape == (3,) and scores[1] < 1e-5 < scores[0] and scores[2] > 1e-5
    small, kept = compress.drop_layers(model, 2, data=batches)
    assert kept == [0, 2] and small.backbone.num_layers == 2
    assert type(small) is type(model)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    path = str(tmp_path / "dropped.keras")
    small.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), small.predict(x, verbose=0))
    for bad, words in [(3, "keep must be 1..2"), (0, "keep must be 1..2")]:
        with pytest.raises(ValueError, match=words):
            compress.drop_layers(model, bad, data=batches)
    with pytest.raises(ValueError, match="needs `data`"):
        compress.drop_layers(model, 2)
    with pytest.raises(ValueError, match="distinct"):
        compress.drop_layers(model, 2, layers=[1, 1])


def test_first_layers_student_round_trip(tmp_path):
    keras.utils.set_random_seed(4)
    teacher = _bert()
    student = compress.first_layers_student(teacher, 2)
    assert isinstance(student, compress.MeanPooledClassifier)
    assert student.backbone.num_layers == 2 and student.num_classes == 2
    assert not student.backbone.get_layer("embeddings").trainable
    for i in range(2):
        for a, b in zip(
            student.backbone.transformer_layers[i].weights,
            teacher.backbone.transformer_layers[i].weights,
        ):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    x, _ = _data(8, 5)
    path = str(tmp_path / "student.keras")
    student.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), student.predict(x, verbose=0))


# --- the recipe end to end -----------------------------------------------------------------------


@pytest.mark.slow  # distillation with 3 hidden-state pairs: ~50 s on a busy 2-core machine
def test_structured_recipe_end_to_end(trained, tmp_path):
    model, train, test = trained
    result = compress.recipe(
        model, train, test, prune="structured", heads=2, ffn=0.5, learning_rate=1e-3,
        quantize="int8", path=str(tmp_path / "s.tflite"), **FAST,
    )  # fmt: skip
    row = result.row
    assert result.model.backbone.num_heads == 2 and result.model.backbone.intermediate_dim == 32
    assert row["recipe"] == ["structured pruning (2h0.5f), recovery: distill"]
    assert row["verified"] and row["tflite_test_accuracy"] >= 0.9, row
    assert row["file_size_bytes"] > 0 and row["latency_ms"] > 0
    ops = compress.op_dtypes(row["path"])
    # Post-training "int8": the FFN down projections are hybrid (float input, int8 weights).
    assert set(ops["FULLY_CONNECTED"]) == {"int8", "float32"}
    assert ops["GATHER"].get("int8") and set(ops["BATCH_MATMUL"]) == {"float32"}
    assert compress.float_ops(row["path"])["SOFTMAX"] == 3  # one per block
    path = str(tmp_path / "s.keras")
    result.model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(
        again.predict(test[0], verbose=0), result.model.predict(test[0], verbose=0), atol=1e-6
    )


@pytest.mark.slow  # three training stages: ~40 s on a busy 2-core machine
def test_distill_layers_qat_recipe_end_to_end(trained, tmp_path):
    model, train, test = trained
    transfer = _data(64, 7)[0]
    result = compress.recipe(
        model, train, test, transfer=transfer, student_layers=2, prune="layers", keep_layers=1,
        qat=True, quantize="int8", epochs=2, learning_rate=1e-3, student_learning_rate=3e-3,
        path=str(tmp_path / "q.tflite"), **FAST,
    )  # fmt: skip
    stages = [s["stage"] for s in result.stages]
    assert stages == [
        "distill into 2 layers",
        "layers pruning (keep1), recovery: distill",
        "quantization-aware training (mixed)",
    ]
    assert isinstance(result.model, compress.QATModel)
    assert result.model.backbone.num_layers == 1
    row = result.row
    assert row["verified"] and row["tflite_test_accuracy"] >= 0.9, row
    ops = compress.op_dtypes(row["path"])
    # QAT for the post-training int8 layout (scheme "mixed"): q, k, v, output, FFN up and the
    # classifier int8, the FFN down projection hybrid (float input), the 2 attention
    # BATCH_MATMULs float, the token table an int8 GATHER.
    assert ops["FULLY_CONNECTED"] == {"float32": 1, "int8": 6}
    assert ops["BATCH_MATMUL"] == {"float32": 2} and ops["GATHER"].get("int8")
    assert result.model.scheme == "mixed"
    path = str(tmp_path / "q.keras")
    result.model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(
        again.predict(test[0], verbose=0), result.model.predict(test[0], verbose=0), atol=1e-6
    )


def test_tiny_recipe_end_to_end_and_cache(trained, tmp_path):
    """Layer dropping (labels recovery) -> post-training int8 -> the row; a re-run reuses it."""
    model, train, test = trained
    kwargs = dict(prune="layers", keep_layers=2, recover="labels", quantize="int8",
                  cache_dir=str(tmp_path / "cache"), **FAST)  # fmt: skip
    first = compress.recipe(model, train, test, path=str(tmp_path / "a.tflite"), **kwargs)
    row = first.row
    assert row["recipe"] == ["layers pruning (keep2), recovery: labels"]
    assert row["verified"] and row["tflite_test_accuracy"] >= 0.9, row
    assert row["file_size_bytes"] > 0 and row["latency_ms"] > 0 and row["params"] > 0
    ops = compress.op_dtypes(row["path"])
    # Post-training "int8": matmuls and embedding gathers int8; the FFN down projections hybrid
    # (float input, int8 weights); attention matmuls, softmax and LayerNorm float.
    assert set(ops["FULLY_CONNECTED"]) == {"int8", "float32"} and ops["GATHER"].get("int8")
    assert ops["BATCH_MATMUL"] == {"float32": 4}  # 2 per kept block
    floats = compress.float_ops(row["path"])
    assert floats["SOFTMAX"] == 2 and floats["MEAN"] > 0 and "GATHER" not in floats
    assert row["matmul_dtypes"]["int8"] > 0 and row["matmul_dtypes"]["int8_weights"] == 2
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["0_layers_keep2_labels.keras"]
    second = compress.recipe(model, train, test, **kwargs)  # no path: Keras numbers only
    assert second.stages[0]["cached"] and "tflite_test_accuracy" not in second.row
    np.testing.assert_array_equal(
        first.model.predict(test[0], verbose=0), second.model.predict(test[0], verbose=0)
    )
    assert first.row["keras_test_accuracy"] == second.row["keras_test_accuracy"]


@pytest.mark.parametrize(
    "stages",
    [
        dict(prune="magnitude", sparsity=0.5),  # once pruned the caller's model in place
        dict(prune="magnitude", sparsity=0.5, recover="labels"),
        dict(prune="structured", heads=1, ffn=0.25, recover="labels"),
        dict(student_layers=1),
        dict(qat=True),
    ],
    ids=["magnitude", "magnitude-labels", "structured", "student", "qat"],
)
def test_recipe_leaves_the_callers_model_unchanged(trained, stages):
    """Every stage trains a copy: the model passed in keeps its weights (the benchmark builds
    all of its rows from one fine-tuned model)."""
    model, (x, y), _ = trained
    before = [w.copy() for w in model.get_weights()]
    result = compress.recipe(model, ({k: v[:32] for k, v in x.items()}, y[:32]), None,
                             epochs=1, batch_size=16, quantize="int8", **FAST, **stages)  # fmt: skip
    if stages.get("prune") == "magnitude":  # pruned while distilling or on the labels
        sparsity = compress.sparsity_report(result.model)  # the pooler and head stay dense
        blocks = [v for k, v in sparsity.items() if k.startswith("transformer_layer")]
        assert len(blocks) == 18 and all(0.45 <= v <= 0.55 for v in blocks), sparsity
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.trainable  # the distillation stages freeze their teacher only while training


# --- the command line ------------------------------------------------------------------------------


def test_cli_recipe_bad_spec_fails_in_one_line(tmp_path, capsys):
    from tfzoo.cli import main

    argv = ["compress", "recipe", "clf.keras", str(tmp_path / "o.tflite"), "--data", "x.csv"]
    for recipe, words in [("int8,qat", "out of order"), ("structured:x", "not numbers")]:
        assert main(argv + ["--recipe", recipe]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, err
    assert main(argv[:3] + ["o.keras", "--data", "x.csv", "--recipe", "int8"]) == 2
    assert "*.tflite" in capsys.readouterr().err


@pytest.mark.slow  # a distillation-recovered layer drop and an int8 export: ~70 s when busy
def test_cli_recipe(tmp_path, capsys):
    from tfzoo.cli import main

    keras.utils.set_random_seed(6)
    model = tiny_model("bert", "classification", num_layers=2, vocabulary_size=30522)
    model_path = str(tmp_path / "clf.keras")
    model.save(model_path)
    rng = np.random.default_rng(0)
    words = {0: ["awful", "boring", "bad", "dull"], 1: ["great", "fun", "good", "moving"]}
    lines = ["text,label"]
    for i in range(120):
        label = i % 2
        lines.append(f"{' '.join(rng.choice(words[label], 5))} film number {i},{label}")
    csv = tmp_path / "reviews.csv"
    csv.write_text("\n".join(lines) + "\n")
    out = str(tmp_path / "small.tflite")
    argv = ["compress", "recipe", model_path, out, "--data", str(csv), "--sequence-length", "16"]
    assert (
        main(argv + ["--recipe", "layers:1,int8", "--save-keras", str(tmp_path / "s.keras")]) == 0
    )
    printed = capsys.readouterr().out
    assert "saved" in printed and "LiteRT accuracy" in printed
    import json

    row = json.loads((tmp_path / "small.row.json").read_text())
    assert (
        row["recipe"] == ["layers pruning (keep1), recovery: distill"]
        and row["file_size_bytes"] > 0
    )
    assert keras.saving.load_model(str(tmp_path / "s.keras")).backbone.num_layers == 1
    for recipe, words in [("layers:2,int8", "keep 1..1"), ("int8,qat", "out of order")]:
        assert main(argv + ["--recipe", recipe, "--overwrite"]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, err
