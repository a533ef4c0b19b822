"""Weight quantization of the prefill/decode TFLite model with `ai-edge-quantizer` recipes.

* `"int8"`: every `FULLY_CONNECTED` (the blocks' projections and the LM head) gets int8
  channel-wise weights with float32 activations, quantized on the fly by the kernel
  (`dynamic_wi8_afp32`). The token embedding table is int8 with one scale per row, written so
  by `model.convert(..., int8_embedding=True)` (a `GATHER` of int8 rows, `CAST`, `MUL` by the
  gathered scales): ai-edge-quantizer's policy (0.10) has no configuration for `GATHER`
  weights (it quantizes `EMBEDDING_LOOKUP`, which the TensorFlow converter does not emit for
  `tf.gather`). A tied LM head is the quantizer's int8 copy of the table (so the file holds the
  table twice at one byte per value, rather than once at four).
* `"int4"`: the blocks' projections get int4 weights in blocks of `block_size` input values
  (dynamic, `dynamic_wi4b<N>_afp32`); the LM head and the embedding table stay at int8 as in
  `"int8"`: they are the layers most sensitive to weight error (one row per vocabulary entry).

Not offered: ai-edge-quantizer's weight-only int8 (`weight_only_wi8_afp32`) ran in LiteRT-LM
0.18.1 but answered SmolLM2's France prompt with unrelated text, where dynamic int8 gave the
Keras tokens.

Weights shared by all signatures are stored once, so the recipes apply to each signature's
copy of an op alike.
"""

QUANTIZE_MODES = (None, "int8", "int4")
BLOCK_SIZES = (32, 64, 128, 256)
BLOCK_LAYERS = "transformer_layer"  # the output names of the blocks' ops start with it


def check_quantize(quantize, block_size):
    if quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"Unknown quantize={quantize!r} for the .litertlm export; use None (float32), "
            f"'int8' or 'int4'."
        )
    if block_size not in BLOCK_SIZES:
        raise ValueError(
            f"block_size={block_size!r} is not supported by ai-edge-quantizer's block-wise "
            f"int4; use one of {BLOCK_SIZES}."
        )


def recipe_table(quantize, block_size):
    """The recipe applied, per op type, as the report lists it."""
    if quantize is None:
        return {}
    int8 = "int8 channel-wise weights, float32 activations (dynamic_wi8_afp32)"
    table = {
        "FULLY_CONNECTED (LM head)": int8,
        "GATHER (token embedding)": "int8 rows with one float32 scale per row (in the model)",
        "FULLY_CONNECTED (blocks)": int8,
    }
    if quantize == "int4":
        table["FULLY_CONNECTED (blocks)"] = (
            f"int4 weights in blocks of {block_size}, float32 activations "
            f"(dynamic_wi4b{block_size}_afp32)"
        )
    return table


def float_size(content, causal_lm):
    """Size of the float32 file, computed from `content` (written with an int8 embedding table
    and float32 row scales): the table at four bytes per value instead of one, no scales. Within
    a few bytes of flatbuffer alignment of the file `model.convert` writes without
    `int8_embedding`."""
    rows, width = (int(n) for n in causal_lm.backbone.token_embedding.embeddings.shape)
    return len(content) + 3 * rows * width - 4 * rows


def quantize_tflite(content, quantize, block_size=32):
    """Returns the quantized TFLite flatbuffer (bytes) of `content` for `quantize`."""
    from tfzoo.export.litertlm.bundle import require

    require("ai_edge_quantizer")
    from ai_edge_quantizer import qtyping, quantizer

    ops, grain = qtyping.TFLOperationName, qtyping.QuantGranularity
    qt = quantizer.Quantizer(bytearray(content))
    qt.add_dynamic_config(".*", ops.FULLY_CONNECTED, 8, grain.CHANNELWISE)
    if quantize == "int4":
        qt.add_dynamic_config(
            f"{BLOCK_LAYERS}.*", ops.FULLY_CONNECTED, 4, getattr(grain, f"BLOCKWISE_{block_size}")
        )
    result = qt.quantize(enable_progress_report=False, enable_progress_bar=False)
    return bytes(result.quantized_model)
