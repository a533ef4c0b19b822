"""`.litertlm` bundles that Google's on-device LLM runtime, LiteRT-LM, runs.

`export_litertlm` writes the prefill/decode TFLite model with LiteRT-LM's tensor conventions
(`model.py`), optionally quantizes its weights with ai-edge-quantizer (`quantize.py`), packs it
with the tokenizer and an `LlmMetadata` (`bundle.py`), and proves the bundle before it keeps it:
`runner.py` loads it in `litert_lm.Engine` in a separate process and decodes greedily, and the
text must equal the Keras model's `generate` continuation.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from tfzoo.export.litertlm import bundle, model, perplexity
from tfzoo.export.litertlm import quantize as _quantize

DEFAULT_VERIFY_PROMPT = "The capital of France is"
DEFAULT_VERIFY_QUESTION = "What is the capital of France?"
VERIFY_NEW_TOKENS = 12
RUNNER_TIMEOUT_S = 300


def export_litertlm(
    causal_lm,
    path,
    *,
    quantize=None,
    prefill_lengths=None,
    max_tokens=None,
    tokenizer=None,
    block_size=32,
    start_token_id=None,
    stop_token_ids=None,
    verify_prompt=None,
    verify_new_tokens=VERIFY_NEW_TOKENS,
    threads=2,
    overwrite=False,
    perplexity_text=None,
):
    """Writes a `.litertlm` bundle of a causal LM and verifies it in LiteRT-LM.

    Args:
        causal_lm: a `tfzoo.models.CausalLM` (GPT, Llama and the other decoder families).
        path: str. The `.litertlm` file to write.
        quantize: `None` (float32 weights), `"int8"` or `"int4"` (see `quantize.py`).
        prefill_lengths: ints. One `prefill_<S>` signature per length. Defaults to the lengths
            of `(32, 128, 512)` below `max_tokens` (or `max_tokens // 2`).
        max_tokens: int. The context (prompt plus generated tokens) of the runtime's cache.
            Defaults to the model's `max_sequence_length`.
        tokenizer: a tfzoo `FastTokenizer` (e.g. `tfzoo.tokenizer_from_pretrained(gguf)`), a
            `tokenizers.Tokenizer`, or the path of a `tokenizer.json`. Required.
        block_size: int. Input values per int4 scale (32, 64, 128 or 256).
        start_token_id: int or `None`. Token the runtime puts before every prompt. Defaults to
            the tfzoo tokenizer's start token when it adds one.
        stop_token_ids: ints. Tokens that end a turn. Defaults to the tfzoo tokenizer's
            `end_token_ids`.
        verify_prompt: str or `None`. The verification prompt, fed as raw text. Defaults to
            the chat template rendered on "What is the capital of France?" when the tokenizer
            has one, else "The capital of France is".
        verify_new_tokens: int. Greedy tokens compared.
        threads: int. CPU threads of LiteRT-LM in the verification.
        overwrite: bool. Replace an existing file at `path`.
        perplexity_text: str or `None`. Held-out text on which a quantized bundle's perplexity
            (TFLite model in ai_edge_litert) is compared with the Keras model's; int4 must be
            within 10% (`perplexity.BOUNDS`). Defaults to held-out news articles
            (`perplexity.held_out_text`).

    Returns:
        A dict: `path`, `format` (`"litertlm"`), `quantize`, `recipe` (per op type),
        `file_size`, `tflite_size`, `max_tokens`, `prefill_lengths`, `signatures`
        (input/output names per signature), `verification` (prompt, Keras and LiteRT-LM text
        and ids, `greedy_match`, `token_agreement`, `ok`), `verified`, `benchmark` (LiteRT-LM's
        prefill/decode tokens/s) and `seconds`.

    Raises:
        ValueError: not a causal LM, bad lengths, unknown quantize mode, a tokenizer without
            the stop token, or an existing path without `overwrite=True`.
        ImportError: the `litertlm` extra is not installed.
        tfzoo.export.ExportVerificationError: float32 or int8 output differs from Keras; the
            bundle is kept at `NAME.UNVERIFIED.litertlm`.
    """
    from tfzoo.export.formats import decoder_base
    from tfzoo.export.staging import unverified_path
    from tfzoo.export.verification import ExportVerificationError

    start = time.perf_counter()
    path = decoder_base.check_path(path, ".litertlm", overwrite)
    backbone = decoder_base.check_causal_lm(causal_lm)
    quantize_mode = quantize
    _quantize.check_quantize(quantize_mode, block_size)
    if quantize_mode == "int4":
        perplexity.check_text_available(perplexity_text)
    max_tokens = decoder_base.check_max_length(max_tokens, backbone)
    prefill_lengths = _check_prefill_lengths(prefill_lengths, max_tokens)
    backend, start_token_id, stop_token_ids, chat_template = _check_tokenizer(
        tokenizer, start_token_id, stop_token_ids, backbone.vocabulary_size
    )
    if verify_prompt is None:
        verify_prompt = _default_prompt(chat_template)
    for module in ("litert_lm", "litert_lm_builder", "ai_edge_quantizer"):
        bundle.require(module)

    content = model.convert(causal_lm, max_tokens, prefill_lengths)
    tflite_float_size = len(content)
    if quantize_mode is not None:
        content = _quantize.quantize_tflite(content, quantize_mode, block_size)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        tflite_path = os.path.join(temp, "model.tflite")
        with open(tflite_path, "wb") as f:
            f.write(content)
        signatures = _signatures(tflite_path)
        metadata = bundle.llm_metadata(start_token_id, stop_token_ids, max_tokens, chat_template)
        artifact = os.path.join(temp, os.path.basename(path))
        bundle.write_bundle(artifact, tflite_path, backend.to_str(), metadata)
        verification, benchmark = _verify(
            causal_lm,
            artifact,
            backend,
            start_token_id,
            stop_token_ids,
            verify_prompt,
            verify_new_tokens,
            threads,
            max_tokens,
            exact=quantize_mode != "int4",
        )
        if quantize_mode is not None:  # perplexity on held-out text vs float Keras
            result = perplexity.check(
                causal_lm,
                tflite_path,
                quantize_mode,
                lambda text: backend.encode(text, add_special_tokens=False).ids,
                max_tokens,
                start_token_id,
                perplexity_text,
                threads=threads,
            )
            perplexity.apply(verification, result, quantize_mode)
        final = path if verification["ok"] else unverified_path(path, overwrite)
        os.replace(artifact, final)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    report = {
        "path": final,
        "format": "litertlm",
        "quantize": quantize_mode,
        "block_size": block_size if quantize_mode == "int4" else None,
        "recipe": _quantize.recipe_table(quantize_mode, block_size),
        "file_size": os.path.getsize(final),
        "tflite_size": len(content),
        "tflite_float_size": tflite_float_size,
        "max_tokens": max_tokens,
        "prefill_lengths": list(prefill_lengths),
        "start_token_id": start_token_id,
        "stop_token_ids": list(stop_token_ids),
        "signatures": signatures,
        "verification": verification,
        "verified": verification["ok"],
        "benchmark": benchmark,
        "seconds": time.perf_counter() - start,
    }
    if not verification["ok"]:
        reason = verification.get("failure") or (
            f"LiteRT-LM's greedy text differs from Keras generate on {verify_prompt!r} "
            f"(Keras {verification['keras_text']!r}, LiteRT-LM {verification['runtime_text']!r})"
        )
        raise ExportVerificationError(
            f"{reason}. The bundle was kept at {final} for inspection, not at {path}.",
            report=report,
            path=final,
        )
    return report


def run_bundle(path, prompt, max_new_tokens, *, threads=2, max_tokens=None):
    """Runs `runner.py` on a bundle in a separate process; returns its JSON result."""
    command = [
        sys.executable,
        os.path.join(os.path.dirname(__file__), "runner.py"),
        path,
        "--prompt",
        prompt,
        "--max-new-tokens",
        str(max_new_tokens),
        "--threads",
        str(threads),
    ]
    if max_tokens is not None:
        command += ["--max-tokens", str(max_tokens)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUNNER_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"LiteRT-LM did not finish {path} within {RUNNER_TIMEOUT_S} s."
        ) from None
    for line in done.stdout.splitlines():
        if line.startswith("LITERTLM_RESULT "):
            return json.loads(line[len("LITERTLM_RESULT ") :])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    raise RuntimeError(f"LiteRT-LM failed on {path} (exit {done.returncode}): {tail[:300]}")


def _verify(
    causal_lm, path, backend, start_id, stop_ids, prompt, new_tokens, threads, max_tokens, exact
):
    result = run_bundle(path, prompt, new_tokens, threads=threads, max_tokens=max_tokens)
    prompt_ids = backend.encode(prompt, add_special_tokens=False).ids
    ids = ([start_id] if start_id is not None else []) + prompt_ids
    if len(ids) + new_tokens > max_tokens:
        raise ValueError(
            f"The verification prompt has {len(ids)} tokens; with {new_tokens} new tokens it "
            f"exceeds max_tokens={max_tokens}. Pass a shorter verify_prompt."
        )
    out = causal_lm.generate([ids], max_new_tokens=new_tokens, end_token_id=())["token_ids"]
    new = np.asarray(out)[0, len(ids) :].tolist()
    for i, token in enumerate(new):
        if token in stop_ids:
            new = new[:i]
            break
    keras_text = backend.decode(new, skip_special_tokens=False)
    runtime_ids = result["text_ids"]
    same = sum(a == b for a, b in zip(new, runtime_ids))
    agreement = same / max(len(new), len(runtime_ids), 1)
    match = keras_text == result["text"]
    verification = {
        "prompt": prompt,
        "prompt_ids": ids,
        "tokenizer_match": result["prompt_ids"] == prompt_ids,
        "keras_ids": new,
        "keras_text": keras_text,
        "runtime_ids": runtime_ids,
        "runtime_text": result["text"],
        "greedy_match": match,
        "token_agreement": agreement,
        "criteria": "LiteRT-LM greedy text == Keras generate text"
        if exact
        else "int4: token agreement reported (no exactness required)",
        "ok": bool(match and result["prompt_ids"] == prompt_ids) if exact else True,
    }
    return verification, result["benchmark"]


def _default_prompt(chat_template):
    if not chat_template:
        return DEFAULT_VERIFY_PROMPT
    from tfzoo.text.chat_template import render_chat_template

    message = {"role": "user", "content": DEFAULT_VERIFY_QUESTION}
    return render_chat_template(chat_template, [message], add_generation_prompt=True)


def _signatures(tflite_path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=tflite_path)
    out = {}
    for name in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(name)
        ins, outs = runner.get_input_details(), runner.get_output_details()
        out[name] = {
            "inputs": {k: [int(d) for d in v["shape"]] for k, v in sorted(ins.items())},
            "outputs": {k: [int(d) for d in v["shape"]] for k, v in sorted(outs.items())},
        }
    return out


def _check_prefill_lengths(prefill_lengths, max_tokens):
    if prefill_lengths is None:
        lengths = [s for s in model.DEFAULT_PREFILL_LENGTHS if s < max_tokens]
        return tuple(lengths or [max(1, max_tokens // 2)])
    if isinstance(prefill_lengths, int):
        prefill_lengths = (prefill_lengths,)
    lengths = tuple(prefill_lengths)
    for s in lengths:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1:
            raise ValueError(f"prefill_lengths must be ints >= 1. Received: {lengths!r}")
        if s > max_tokens:
            raise ValueError(
                f"Prefill length {s} is over max_tokens={max_tokens}; pass prefill lengths "
                f"up to max_tokens, or a larger max_tokens."
            )
    if not lengths or len(set(lengths)) != len(lengths):
        raise ValueError(f"prefill_lengths must be distinct ints. Received: {lengths!r}")
    return tuple(sorted(int(s) for s in lengths))


def _check_tokenizer(tokenizer, start_id, stop_ids, vocabulary_size):
    """`(tokenizers.Tokenizer, start id, stop ids, chat template)` from the accepted forms."""
    chat_template = None
    backend = None
    if isinstance(tokenizer, (str, os.PathLike)):
        from tokenizers import Tokenizer

        if not str(tokenizer).endswith(".json") or not os.path.isfile(tokenizer):
            raise ValueError(
                f"tokenizer={tokenizer!r} is not a tokenizer.json file; pass the checkpoint's "
                f"tokenizer.json or a tfzoo FastTokenizer."
            )
        backend = Tokenizer.from_file(os.fspath(tokenizer))
    elif hasattr(tokenizer, "to_str") and hasattr(tokenizer, "encode"):
        backend = tokenizer  # a tokenizers.Tokenizer
    elif hasattr(getattr(tokenizer, "tokenizer", None), "tokenizer"):  # tfzoo FastTokenizer
        backend = tokenizer.tokenizer.tokenizer
        chat_template = tokenizer.chat_template
        if start_id is None and tokenizer.add_start_token:
            start_id = tokenizer.start_token_id
        if stop_ids is None:
            stop_ids = tokenizer.end_token_ids
    if backend is None:
        raise ValueError(
            "The .litertlm export needs the model's tokenizer: pass tokenizer= a tfzoo "
            "FastTokenizer (tfzoo.tokenizer_from_pretrained), a tokenizers.Tokenizer or a "
            f"tokenizer.json path. Received: {type(tokenizer).__name__}."
        )
    size = backend.get_vocab_size(with_added_tokens=True)
    stop_ids = tuple(int(i) for i in (stop_ids or ()))
    if not stop_ids:
        raise ValueError(
            "The tokenizer has no stop token; pass stop_token_ids=(id, ...) with the "
            "end-of-turn ids of the model."
        )
    for i in stop_ids + ((start_id,) if start_id is not None else ()):
        if not 0 <= i < min(size, vocabulary_size):
            raise ValueError(
                f"Token id {i} is not in the tokenizer (size {size}) and model vocabulary "
                f"(size {vocabulary_size}); pass ids of the model's own tokenizer."
            )
    return backend, start_id, stop_ids, chat_template
