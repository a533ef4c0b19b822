"""The `.litertlm` TFLite model's cache layout and int8 embedding, checked on the model itself
(ai_edge_litert) against Keras: decode writes the runtime-layout caches in place and attends
to them as stored, and the int8 embedding table is int8 in the file and gives the logits of a
Keras model whose table holds the same dequantized values."""

import collections

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import tfzoo
from tfzoo.export.litertlm import model

MAX_TOKENS = 24
SIZES = dict(
    num_layers=2,
    hidden_dim=32,
    num_heads=4,
    num_key_value_heads=2,
    intermediate_dim=64,
    vocabulary_size=97,
    max_sequence_length=48,
)


def tiny_llama(**kw):
    keras.utils.set_random_seed(7)
    lm = tfzoo.build("llama-tiny", task="causal_lm", **SIZES, **kw)
    for v in lm.variables:  # no identity weights: norms and all
        v.assign(np.random.default_rng(len(v.path)).normal(0, 0.5, v.shape).astype(v.dtype))
    return lm


@pytest.fixture(scope="module")
def float_model():
    """An untied model (so that the head stays float with an int8 embedding) and its float
    TFLite model."""
    lm = tiny_llama(tie_word_embeddings=False)
    return lm, model.convert(lm, MAX_TOKENS, (8,))


def _subgraph(content, signature):
    from tensorflow.lite.python import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
    (sig,) = [s for s in m.signatureDefs if s.signatureKey.decode() == signature]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = m.subgraphs[sig.subgraphIndex]

    def op_name(op):
        code = m.operatorCodes[op.opcodeIndex]
        return names[max(code.builtinCode, code.deprecatedBuiltinCode)]

    inputs = {t.name.decode(): t.tensorIndex for t in sig.inputs}
    outputs = {t.name.decode(): t.tensorIndex for t in sig.outputs}
    return m, graph, op_name, inputs, outputs


def test_decode_updates_the_caches_in_place_without_copying_them(float_model):
    """Every op of `decode` that reads a cache input is the DYNAMIC_UPDATE_SLICE writing the new
    key/value, and each cache output is that op's result: the step never transposes, pads or
    copies a cache (what made LiteRT-LM decode slowly before)."""
    _, content = float_model
    _, graph, op_name, inputs, outputs = _subgraph(content, "decode")
    producers = {out: op for op in graph.operators for out in op.outputs}
    cache_inputs = {i for name, i in inputs.items() if name.startswith("kv_cache_")}
    assert len(cache_inputs) == 2 * SIZES["num_layers"]
    readers = [op_name(op) for op in graph.operators if cache_inputs & set(op.inputs)]
    assert readers == ["DYNAMIC_UPDATE_SLICE"] * len(cache_inputs)
    for name, index in outputs.items():
        if name.startswith("kv_cache_"):
            op = producers[index]
            assert op_name(op) == "DYNAMIC_UPDATE_SLICE" and op.inputs[0] == inputs[name]
    ops = collections.Counter(op_name(op) for op in graph.operators)
    assert "TRANSPOSE" not in ops and "TILE" not in ops and "PAD" not in ops, ops


def test_int8_embedding_is_int8_in_the_file_and_equals_keras_with_that_table(float_model):
    """An untied model (so the head stays float in both): the file's GATHER reads an int8
    (vocab, hidden) table, the model is smaller by 3 bytes per value, and its prefill/decode
    logits equal the Keras model whose table is `int8 * row scale`."""
    lm, plain = float_model
    content = model.convert(lm, MAX_TOKENS, (8,), int8_embedding=True)
    m, graph, op_name, inputs, _ = _subgraph(content, "decode")
    gathers = [op for op in graph.operators if op_name(op) == "GATHER"]
    tables = [graph.tensors[op.inputs[0]] for op in gathers]
    vocab, hidden = SIZES["vocabulary_size"], SIZES["hidden_dim"]
    assert [(list(t.shape), t.type) for t in tables if list(t.shape) == [vocab, hidden]] == [
        ([vocab, hidden], 9)  # TensorType.INT8
    ]
    assert len(plain) - len(content) >= 3 * vocab * hidden - 4 * vocab - 64

    rows, scales = model.quantize_rows(lm.backbone.token_embedding.embeddings.numpy())
    assert np.abs(rows).max() == 127 and rows.dtype == np.int8
    lm = tiny_llama(tie_word_embeddings=False)  # a copy: the fixture's model stays as built
    lm.backbone.token_embedding.embeddings.assign(rows.astype("float32") * scales)
    interpreter = Interpreter(model_content=content)
    ids = np.random.default_rng(1).integers(0, vocab, 10).astype("int32")
    prefill = interpreter.get_signature_runner("prefill_8")
    decode = interpreter.get_signature_runner("decode")
    shapes = model.cache_shapes(lm.backbone, MAX_TOKENS)
    caches = {k: np.zeros(s, "float32") for k, s in shapes.items()}
    out = prefill(tokens=ids[None, :8], input_pos=np.arange(8, dtype="int32"), **caches)
    logits = [out["logits"][0]]
    for position in (8, 9):
        caches = {k: out[k] for k in shapes}
        out = decode(
            tokens=ids[None, position : position + 1],
            input_pos=np.array([position], "int32"),
            **caches,
        )
        logits.append(out["logits"][0])
    keras_logits = np.asarray(lm({"token_ids": ids[None], "padding_mask": np.ones((1, 10), bool)}))[
        0
    ]
    np.testing.assert_allclose(np.concatenate(logits), keras_logits, atol=1e-4, rtol=1e-4)


def test_litertlm_is_a_decoder_format_with_a_standalone_runner(tmp_path):
    from pathlib import Path

    from tfzoo.export.formats import FORMATS
    from tfzoo.export.formats import litertlm as module
    from tfzoo.export.litertlm import export_litertlm

    fmt = FORMATS["litertlm"]
    assert (fmt.kind, fmt.extension, fmt.runner_script) == ("decoder", ".litertlm", None)
    assert fmt.check_arguments is module.check_arguments and fmt.details is module.details
    assert fmt.runtime().startswith("litert-lm-api ")
    assert (Path(__file__).resolve().parents[2] / "export" / module.STANDALONE_RUNNER).is_file()
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['prefill_length'\]"):
        export_litertlm(tiny_llama(), str(tmp_path / "x.litertlm"), prefill_length=8)
    assert list(tmp_path.iterdir()) == []
