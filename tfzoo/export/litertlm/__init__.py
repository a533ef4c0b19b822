"""`.litertlm` bundles that Google's on-device LLM runtime, LiteRT-LM, runs.

`export_litertlm` is the pipeline of the `litertlm` export format
(`tfzoo/export/formats/litertlm.py`: argument checks, writing, the runner, the op summary): it
writes the prefill/decode TFLite model with LiteRT-LM's tensor conventions (`model.py`),
optionally quantizes its weights (`quantize.py`), packs it with the tokenizer and an
`LlmMetadata` (`bundle.py`), and proves the bundle before it keeps it: `runner.py` loads it in
`litert_lm.Engine` in a separate process and decodes greedily, and the text must equal the
Keras model's `generate` continuation.
"""

import os
import time

from tfzoo.export.formats.litertlm import (
    DEFAULT_VERIFY_PROMPT,
    DEFAULT_VERIFY_QUESTION,
    RUNNER_TIMEOUT_S,
    VERIFY_NEW_TOKENS,
    run_bundle,
)
from tfzoo.export.litertlm import bundle, model, perplexity

__all__ = [
    "DEFAULT_VERIFY_PROMPT",
    "DEFAULT_VERIFY_QUESTION",
    "RUNNER_TIMEOUT_S",
    "VERIFY_NEW_TOKENS",
    "bundle",
    "export_litertlm",
    "model",
    "run_bundle",
]


def export_litertlm(causal_lm, path, *, overwrite=False, **options):
    """Writes a `.litertlm` bundle of a causal LM and verifies it in LiteRT-LM.

    Args:
        causal_lm: a `tfzoo.models.CausalLM` (GPT, Llama and the other decoder families).
        path: str. The `.litertlm` file to write.
        overwrite: bool. Replace an existing file at `path`.
        **options: keyword arguments (`formats.litertlm.LitertlmOptions`):
            quantize: `None` (float32 weights), `"int8"` or `"int4"` (see `quantize.py`).
            prefill_lengths: ints. One `prefill_<S>` signature per length. Defaults to the
                lengths of `(32, 128, 512)` below `max_tokens` (or `max_tokens // 2`).
            max_tokens: int. The context (prompt plus generated tokens) of the runtime's cache.
                Defaults to the model's `max_sequence_length`.
            tokenizer: a tfzoo `FastTokenizer` (e.g. `tfzoo.tokenizer_from_pretrained(gguf)`),
                a `tokenizers.Tokenizer`, or the path of a `tokenizer.json`. Required.
            block_size: int. Input values per int4 scale (32, 64, 128 or 256). Default 32.
            start_token_id: int or `None`. Token the runtime puts before every prompt.
                Defaults to the tfzoo tokenizer's start token when it adds one.
            stop_token_ids: ints. Tokens that end a turn. Defaults to the tfzoo tokenizer's
                `end_token_ids`.
            verify_prompt: str or `None`. The verification prompt, fed as raw text. Defaults to
                the chat template rendered on "What is the capital of France?" when the
                tokenizer has one, else "The capital of France is".
            verify_new_tokens: int. Greedy tokens compared. Default 12.
            threads: int. CPU threads of LiteRT-LM in the verification. Default 2.
            perplexity_text: str or `None`. Held-out text on which a quantized bundle's
                perplexity (its TFLite model in ai_edge_litert) is compared with the float
                Keras model's; int4 must be within 10% (`perplexity.BOUNDS`). Defaults to
                held-out news articles (`perplexity.held_out_text`).
            conversions: dict or `None`. A cache of float TFLite conversions to share between
                exports of the same model (`several.export_bundles` passes one dict to each
                call, so its int8 and int4 bundles are converted once). Default `None`.

    Returns:
        A dict: `path`, `format` (`"litertlm"`), `quantize`, `recipe` (per op type),
        `file_size`, `tflite_size`, `tflite_float_size`, `max_tokens`, `prefill_lengths`,
        `signatures` (input/output shapes per signature), `ops` (op counts per signature),
        `verification` (prompt, Keras and LiteRT-LM text and ids, `greedy_match`,
        `token_agreement`, `ok`), `verified`, `benchmark` (LiteRT-LM's prefill/decode tokens/s),
        `runtime` and `seconds`.

    Raises:
        ValueError: not a causal LM, bad lengths, unknown quantize mode, a tokenizer without
            the stop token, or an existing path without `overwrite=True`.
        TypeError: an unknown keyword argument.
        ImportError: the `litertlm` extra is not installed.
        tfzoo.export.ExportVerificationError: float32 or int8 output differs from Keras; the
            bundle is kept at `NAME.UNVERIFIED.litertlm`.
    """
    from tfzoo.export import staging
    from tfzoo.export.formats import FORMATS, decoder_base
    from tfzoo.export.formats.litertlm import LitertlmOptions, compare
    from tfzoo.export.verification import ExportVerificationError

    start = time.perf_counter()
    fmt = FORMATS["litertlm"]
    path = decoder_base.check_path(path, fmt.extension, overwrite)
    backbone = decoder_base.check_causal_lm(causal_lm)
    unknown = sorted(set(options) - {f.name for f in _public_fields(LitertlmOptions)})
    if unknown:
        raise TypeError(f"export_litertlm() got unexpected keyword arguments {unknown}.")
    options = LitertlmOptions(**options, vocabulary_size=backbone.vocabulary_size)
    options.max_tokens = decoder_base.check_max_length(options.max_tokens, backbone)
    fmt.check_arguments(options)

    with staging.Stage(path, overwrite) as stage:
        notes = fmt.write(causal_lm, stage.artifact, options)  # sets the tflite sizes
        result = fmt.runner(stage.artifact, options.threads).generate(
            options.verify_prompt, options.verify_new_tokens, max_tokens=options.max_tokens
        )
        verification = compare(causal_lm, result, options, exact=options.quantize != "int4")
        if options.quantize is not None:  # perplexity on held-out text vs float Keras
            perplexity.apply(verification, _perplexity(causal_lm, options), options.quantize)
        details = fmt.details(stage.artifact, None, options)
        ops = fmt.ops(stage.artifact)
        file_size = os.path.getsize(stage.artifact)
        final = stage.place(verification["ok"])
    fields = {
        **details,
        "tflite_size": options.tflite_size,
        "tflite_float_size": options.tflite_float_size,
        "notes": notes,
        "benchmark": result["benchmark"],
    }
    report = decoder_base.decoder_report(
        fmt, final, options.quantize, file_size, fields, ops, verification, start
    )
    if not verification["ok"]:
        reason = verification.get("failure") or (
            f"LiteRT-LM's greedy text differs from Keras generate on {options.verify_prompt!r} "
            f"(Keras {verification['keras_text']!r}, LiteRT-LM {verification['runtime_text']!r})"
        )
        raise ExportVerificationError(
            f"{reason}. The bundle was kept at {final} for inspection, not at {path}.",
            report=report,
            path=final,
        )
    return report


def _perplexity(causal_lm, options):
    """The perplexity entry of a quantized bundle: its TFLite model (the bytes `write` bundled)
    in ai_edge_litert against the float Keras model, on held-out text."""
    return perplexity.check(
        causal_lm,
        options.tflite_content,
        options.quantize,
        lambda text: options.backend.encode(text, add_special_tokens=False).ids,
        options.max_tokens,
        options.start_token_id,
        options.perplexity_text,
        threads=options.threads,
    )


def _public_fields(options_class):
    """The fields of `LitertlmOptions` a caller sets (not those `check_arguments` derives)."""
    import dataclasses

    derived = {"vocabulary_size", "backend", "chat_template", "tflite_size", "tflite_float_size",
               "tflite_content"}  # fmt: skip
    return [f for f in dataclasses.fields(options_class) if f.name not in derived]
