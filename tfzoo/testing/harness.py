"""Checks every tfzoo layer and model goes through, so that test files stay short.

`run_layer_test` checks a layer's config round trip, symbolic and eager calls and mixed precision;
`run_model_test` checks a model's `.keras` and weights-only round trips, one `fit` step, variable
sequence lengths and mixed-precision forward passes.
"""

import os

import keras
import numpy as np


def assert_close(actual, expected, atol=1e-5, rtol=0.0, message=""):
    actual = np.asarray(keras.ops.convert_to_numpy(actual), dtype="float64")
    expected = np.asarray(keras.ops.convert_to_numpy(expected), dtype="float64")
    if actual.shape != expected.shape:
        raise AssertionError(f"{message} shapes differ: {actual.shape} vs {expected.shape}")
    diff = np.max(np.abs(actual - expected)) if actual.size else 0.0
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        raise AssertionError(f"{message} max abs diff {diff:.3g} > atol {atol}")
    return diff


def tiny_inputs(model, batch_size=2, sequence_length=8, pad=2, seed=0):
    """Random valid inputs for a tfzoo backbone or task; the last row is padded by `pad`."""
    rng = np.random.default_rng(seed)
    backbone = getattr(model, "backbone", model)
    vocab = backbone.vocabulary_size
    ids = rng.integers(1, vocab, size=(batch_size, sequence_length)).astype("int32")
    mask = np.ones_like(ids)
    if pad:
        mask[-1, sequence_length - pad :] = 0
        ids[-1, sequence_length - pad :] = 0
    inputs = {"token_ids": ids, "padding_mask": mask}
    if "segment_ids" in backbone.input_names:
        segments = np.zeros_like(ids)
        segments[:, sequence_length // 2 :] = 1
        inputs["segment_ids"] = segments * mask
    return inputs


def greedy_without_cache(causal_lm, prompt, max_new_tokens):
    """The greedy continuation of `prompt`, one full forward pass per new token (no cache).

    The reference that `CausalLM.generate` (cached, compiled decoding) must equal.

    Args:
        causal_lm: a model mapping `{"token_ids", "padding_mask"}` to `(batch, seq, vocab)` logits.
        prompt: int32 array `(batch, prompt_length)`, no padding.
        max_new_tokens: int. Tokens to append.

    Returns:
        int32 array `(batch, prompt_length + max_new_tokens)`: the prompt and its continuation.
    """
    ids = np.asarray(prompt, "int32")
    for _ in range(max_new_tokens):
        logits = np.asarray(causal_lm({"token_ids": ids, "padding_mask": np.ones_like(ids)}))
        ids = np.concatenate([ids, logits[:, -1].argmax(-1)[:, None].astype("int32")], 1)
    return ids


def _flat(outputs):
    if isinstance(outputs, dict):
        return [outputs[k] for k in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    return [outputs]


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    call_kwargs=None,
    expected_output_shape=None,
    mixed_precision=True,
):
    """Checks a layer: config round trip, eager = rebuilt-from-config, symbolic shape, fp16/bf16.

    Args:
        layer_cls: the layer class.
        init_kwargs: dict. Constructor arguments.
        input_data: array or tuple of arrays passed positionally to `call`.
        call_kwargs: dict. Extra call arguments.
        expected_output_shape: tuple. Shape of the (first) output.
        mixed_precision: bool. Also run under `mixed_float16` and `mixed_bfloat16`.
    """
    call_kwargs = call_kwargs or {}
    args = input_data if isinstance(input_data, tuple) else (input_data,)
    layer = layer_cls(**init_kwargs)
    outputs = layer(*args, **call_kwargs)
    first = _flat(outputs)[0]
    if expected_output_shape is not None:
        assert tuple(first.shape) == tuple(expected_output_shape), (
            first.shape,
            expected_output_shape,
        )

    # Config round trip: same config, same outputs with the same weights.
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    clone(*args, **call_kwargs)
    clone.set_weights(layer.get_weights())
    for a, b in zip(_flat(clone(*args, **call_kwargs)), _flat(outputs)):
        assert_close(a, b, atol=1e-6, message=f"{layer_cls.__name__} from_config")

    # Symbolic call gives the eager shape (dynamic batch and sequence).
    symbolic = tuple(
        keras.KerasTensor(
            (None,) * (np.ndim(a) - 1) + (np.shape(a)[-1],), dtype=str(np.asarray(a).dtype)
        )
        if np.ndim(a) >= 2
        else a
        for a in args
    )
    sym_out = _flat(layer_cls(**init_kwargs)(*symbolic, **call_kwargs))[0]
    assert sym_out.shape[-1] == first.shape[-1]

    if mixed_precision:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mp = layer_cls.from_config({**config, "dtype": policy})
            mp(*args, **call_kwargs)
            mp.set_weights(layer.get_weights())
            mp_first = keras.ops.convert_to_numpy(
                keras.ops.cast(_flat(mp(*args, **call_kwargs))[0], "float32")
            )
            assert np.all(np.isfinite(mp_first)), f"{policy} produced non-finite values"
            scale = max(1.0, float(np.max(np.abs(keras.ops.convert_to_numpy(first)))))
            tol = 0.05 if policy == "mixed_bfloat16" else 0.01
            assert_close(
                mp_first, first, atol=tol * scale, message=f"{layer_cls.__name__} {policy}"
            )
    return layer, outputs


def _clone_with_policy(model, policy):
    config = model.get_config()
    backbone_config = config.get("backbone", {}).get("config") if "backbone" in config else config
    backbone_config["dtype"] = policy
    clone = model.__class__.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def run_model_test(
    model,
    tmp_path,
    loss=None,
    y=None,
    sample_weight=None,
    inputs=None,
    fit=True,
    mixed_precision=True,
    atol=1e-5,
):
    """Checks a model end to end.

    1. `.keras` save + `keras.saving.load_model` (safe mode, no custom_objects) = same outputs;
    2. weights-only save/load into a model rebuilt from config = same outputs;
    3. another sequence length works (dynamic shapes);
    4. one `fit` step on (inputs, y) lowers the loss on that batch;
    5. `mixed_float16` and `mixed_bfloat16` forward passes are finite and close to float32.
    """
    inputs = inputs if inputs is not None else tiny_inputs(model)
    expected = model(inputs, training=False)

    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model)
    for a, b in zip(_flat(reloaded(inputs, training=False)), _flat(expected)):
        assert_close(a, b, atol=atol, message=".keras reload")

    weights = os.path.join(str(tmp_path), "model.weights.h5")
    model.save_weights(weights)
    rebuilt = model.__class__.from_config(model.get_config())
    rebuilt.load_weights(weights)
    for a, b in zip(_flat(rebuilt(inputs, training=False)), _flat(expected)):
        assert_close(a, b, atol=atol, message="weights-only reload")

    shorter = {k: v[:, : max(2, v.shape[1] // 2)] for k, v in inputs.items()}
    out = _flat(model(shorter, training=False))[0]
    assert out.shape[0] == next(iter(inputs.values())).shape[0]

    if mixed_precision:
        for policy in ("mixed_float16", "mixed_bfloat16"):
            mp = _clone_with_policy(model, policy)
            for a, b in zip(_flat(mp(inputs, training=False)), _flat(expected)):
                a = keras.ops.convert_to_numpy(keras.ops.cast(a, "float32"))
                assert np.all(np.isfinite(a)), f"{policy}: non-finite output"
                b = keras.ops.convert_to_numpy(b)
                scale = max(1.0, float(np.max(np.abs(b))))
                tol = 0.1 if policy == "mixed_bfloat16" else 0.02
                assert_close(a, b, atol=tol * scale, message=f"{policy} forward")

    if fit and loss is not None:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
        before = model.evaluate(inputs, y, sample_weight=sample_weight, verbose=0)
        model.fit(inputs, y, sample_weight=sample_weight, epochs=3, batch_size=len(y), verbose=0)
        after = model.evaluate(inputs, y, sample_weight=sample_weight, verbose=0)
        assert np.isfinite(after) and after < before, (
            f"fit did not lower the loss: {before} -> {after}"
        )
    return model
