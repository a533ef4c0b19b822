"""LoRA: only the adapters train, the loss goes down, and the merged model is the adapted one."""

import keras
import numpy as np
import pytest

import tfzoo
from tfzoo.models import enable_lora, merge_lora

LLAMA = dict(
    num_layers=2,
    hidden_dim=32,
    num_heads=4,
    num_key_value_heads=2,
    intermediate_dim=64,
    vocabulary_size=97,
    max_sequence_length=40,
)


def _inputs():
    ids = np.random.default_rng(0).integers(0, 97, (8, 12)).astype("int32")
    return {"token_ids": ids, "padding_mask": np.ones_like(ids)}, np.roll(ids, -1, axis=1)


def test_lora_trains_only_adapters_and_merges_exactly(tmp_path):
    keras.utils.set_random_seed(0)
    lm = tfzoo.build("llama-tiny", task="causal_lm", **LLAMA)
    total = lm.count_params()
    base = np.asarray(lm.backbone.transformer_layers[0].self_attention.query_dense.kernel)
    trainable = enable_lora(lm, rank=4, alpha=8, targets=("q", "v"))
    # Per layer: q kernel (32, 4, 8) -> A (32, 4, 4) + B (4, 8); v kernel (32, 2, 8) ->
    # A (32, 2, 4) + B (4, 8); two layers.
    assert trainable == 2 * ((32 * 4 * 4 + 4 * 8) + (32 * 2 * 4 + 4 * 8))
    assert all("lora_kernel" in v.path for v in lm.trainable_variables)
    assert len(lm.trainable_variables) == 2 * 2 * 2 and trainable < 0.1 * total

    x, y = _inputs()
    lm.compile(
        optimizer=keras.optimizers.Adam(5e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = lm.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0] - 0.1, history
    frozen = lm.backbone.transformer_layers[0].self_attention.query_dense
    np.testing.assert_array_equal(np.asarray(frozen._kernel), base)  # the base stays
    assert np.abs(np.asarray(frozen.lora_kernel_b)).max() > 0  # the adapter moved

    adapted = np.asarray(lm(x))
    merged = merge_lora(lm)
    assert not any(v.path.endswith("lora_kernel_a") for v in merged.variables)
    np.testing.assert_allclose(np.asarray(merged(x)), adapted, atol=1e-5)
    assert (
        np.abs(
            np.asarray(merged(x))
            - np.asarray(tfzoo.build("llama-tiny", task="causal_lm", **LLAMA)(x))
        ).max()
        > 1e-3
    )

    # .keras round trip of the adapted model: Keras writes the merged kernels.
    lm.save(tmp_path / "lora.keras")
    reloaded = keras.saving.load_model(tmp_path / "lora.keras")
    np.testing.assert_allclose(np.asarray(reloaded(x)), adapted, atol=1e-5)
    # The merged model exports like any model (Hugging Face directory round trip).
    tfzoo.save_pretrained(merged, tmp_path / "hf")
    back = tfzoo.from_pretrained(tmp_path / "hf", task="causal_lm")
    np.testing.assert_allclose(np.asarray(back(x)), adapted, atol=1e-5)


def test_lora_targets_all_projections():
    lm = tfzoo.build("llama-tiny", task="causal_lm", **LLAMA)
    enable_lora(lm, rank=2, targets="all")
    assert len(lm.trainable_variables) == 2 * 7 * 2  # 2 layers x 7 projections x (A, B)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"rank": 0}, "rank` must be an int >= 1"),
        ({"alpha": -1.0}, "alpha` must be a number > 0"),
        ({"targets": ("q", "qq")}, r"Unknown LoRA targets \['qq'\]"),
    ],
)
def test_lora_bad_arguments(options, match):
    lm = tfzoo.build("llama-tiny", task="causal_lm", **LLAMA)
    with pytest.raises(ValueError, match=match):
        enable_lora(lm, **options)


def test_lora_twice_is_an_error():
    lm = tfzoo.build("llama-tiny", task="causal_lm", **LLAMA)
    enable_lora(lm)
    with pytest.raises(ValueError, match="already has LoRA adapters"):
        enable_lora(lm)
