"""`.litertlm` bundle: a causal LM for Google's on-device LLM runtime, LiteRT-LM.

The bundle holds the prefill/decode TFLite model with LiteRT-LM's tensor conventions
(`tfzoo/export/litertlm/model.py`), its weights optionally quantized
(`tfzoo/export/litertlm/quantize.py`), the tokenizer and an `LlmMetadata`
(`tfzoo/export/litertlm/bundle.py`). `tfzoo.export.litertlm.export_litertlm` is the pipeline:
it checks the arguments (`check_arguments`), writes the bundle in a `staging.Stage`
(`write`), runs it in LiteRT-LM (`runner`) and compares the greedy text with Keras `generate`
(`compare`). LiteRT-LM returns text, not logits, so its runner has `generate`, not the
`step_logits` of the other decoder formats, and the export is not `api.export_decoder`.

The standalone runner in `export/` is `STANDALONE_RUNNER`: it continues a prompt given on the
command line (a bundle has no reference files, so `RUNNER_SCRIPT`, what `tfzoo.export.verify`
runs, is `None` as for the other decoders).
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from tfzoo.export.formats.base import package_version

NAME = "litertlm"
KIND = "decoder"
EXTENSION = ".litertlm"
RUNNER_SCRIPT = None
STANDALONE_RUNNER = "run_litertlm.py"

DEFAULT_VERIFY_PROMPT = "The capital of France is"
DEFAULT_VERIFY_QUESTION = "What is the capital of France?"
VERIFY_NEW_TOKENS = 12
RUNNER_TIMEOUT_S = 300
PACKAGES = ("litert_lm", "litert_lm_builder", "ai_edge_quantizer")


@dataclasses.dataclass
class LitertlmOptions:
    """The keyword arguments of `export_litertlm` (documented there), then the derived fields:
    `vocabulary_size` (set by the caller from the model), `backend` (a `tokenizers.Tokenizer`)
    and `chat_template` (set by `check_arguments`), `tflite_size` and `tflite_float_size` (bytes
    of the bundled TFLite model and of its float32 version) and `tflite_content` (the bundled
    model itself, for the perplexity check), set by `write`."""

    quantize: str | None = None
    prefill_lengths: object = None
    max_tokens: int | None = None
    tokenizer: object = None
    block_size: int = 32
    start_token_id: int | None = None
    stop_token_ids: object = None
    verify_prompt: str | None = None
    verify_new_tokens: int = VERIFY_NEW_TOKENS
    threads: int = 2
    perplexity_text: str | None = None
    conversions: dict | None = None
    vocabulary_size: int | None = None
    backend: object = None
    chat_template: str | None = None
    tflite_size: int | None = None
    tflite_float_size: int | None = None
    tflite_content: bytes | None = None


def check_arguments(options):
    """Validates `options` and fills their defaults; `options.max_tokens` must already be
    checked against the model (`decoder_base.check_max_length`)."""
    from tfzoo.export.litertlm import bundle
    from tfzoo.export.litertlm import quantize as quantization

    quantization.check_quantize(options.quantize, options.block_size)
    if options.quantize == "int4":  # its perplexity bound needs held-out text
        from tfzoo.export.litertlm import perplexity

        perplexity.check_text_available(options.perplexity_text)
    options.prefill_lengths = check_prefill_lengths(options.prefill_lengths, options.max_tokens)
    check_tokenizer(options)
    if options.verify_prompt is None:
        options.verify_prompt = default_prompt(options.chat_template)
    for module in PACKAGES:
        bundle.require(module)


def write(causal_lm, path, options):
    """Converts, quantizes and packs the bundle at `path`; sets `options.tflite_size` and
    `options.tflite_float_size`; returns notes for the report."""
    from tfzoo.export.litertlm import bundle, model
    from tfzoo.export.litertlm import quantize as quantization

    max_tokens, lengths = options.max_tokens, options.prefill_lengths
    # The embedding table is int8 in the model when quantized; the FULLY_CONNECTED weights are
    # quantized by the recipe afterwards.
    int8_embedding = options.quantize is not None
    key = (id(causal_lm), max_tokens, tuple(lengths), int8_embedding)
    cache = options.conversions if options.conversions is not None else {}
    if key not in cache or cache[key][0] is not causal_lm:  # ids of dead models are reused
        cache[key] = (causal_lm, model.convert(causal_lm, max_tokens, lengths, int8_embedding))
    content = cache[key][1]
    if options.quantize is None:
        float_size = len(content)
    else:
        float_size = quantization.float_size(content, causal_lm)
        content = quantization.quantize_tflite(content, options.quantize, options.block_size)
    with tempfile.TemporaryDirectory(prefix="tfzoo-litertlm-") as temp:
        tflite_path = os.path.join(temp, "model.tflite")
        with open(tflite_path, "wb") as f:
            f.write(content)
        metadata = bundle.llm_metadata(
            options.start_token_id, options.stop_token_ids, max_tokens, options.chat_template
        )
        bundle.write_bundle(path, tflite_path, options.backend.to_str(), metadata)
    options.tflite_size, options.tflite_float_size = len(content), float_size
    options.tflite_content = content
    if options.quantize is None:
        return []
    return [
        "tflite_float_size is computed: the bundled model's size with the int8 embedding table "
        "and its row scales replaced by the float32 table"
    ]


class BundleRunner:
    """A bundle run in LiteRT-LM (`litert_lm.Engine`, CPU) in a separate process.

    Args:
        path: str. The `.litertlm` file.
        threads: int. LiteRT-LM's CPU threads.
    """

    def __init__(self, path, threads=2):
        self.path, self.threads = os.fspath(path), threads

    def generate(self, prompt, max_new_tokens, max_tokens=None):
        """Greedy continuation of the raw text `prompt`: the runner's JSON result (`text`,
        `prompt_ids`, `text_ids`, `benchmark`, ...; see `tfzoo/export/litertlm/runner.py`)."""
        return run_bundle(
            self.path, prompt, max_new_tokens, threads=self.threads, max_tokens=max_tokens
        )


def run_bundle(path, prompt, max_new_tokens, *, threads=2, max_tokens=None):
    """Runs `tfzoo/export/litertlm/runner.py` on a bundle in a separate process (a crash of the
    native runtime cannot take this process down); returns its JSON result."""
    from tfzoo.export.litertlm import runner as runner_module

    command = [sys.executable, runner_module.__file__, os.fspath(path), "--prompt", prompt]
    command += ["--max-new-tokens", str(max_new_tokens), "--threads", str(threads)]
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


def runner(path, threads):
    return BundleRunner(path, threads)


def runtime():
    return f"litert-lm-api {package_version('litert-lm-api')}"


def ops(path, causal_lm=None, run=None):
    """Op counts of the bundled TFLite model, per signature (`tflite_decoder.signature_ops`)."""
    del causal_lm, run
    from tfzoo.export.formats.tflite_decoder import signature_ops

    with tempfile.TemporaryDirectory(prefix="tfzoo-litertlm-") as temp:
        return signature_ops(bundled_tflite(path, temp))


def details(path, run, options):
    """Report fields: the recipe per op type, lengths, tokens and the signatures' tensors."""
    del run
    from tfzoo.export.litertlm import quantize as quantization

    with tempfile.TemporaryDirectory(prefix="tfzoo-litertlm-") as temp:
        signatures = signature_shapes(bundled_tflite(path, temp))
    return {
        "block_size": options.block_size if options.quantize == "int4" else None,
        "recipe": quantization.recipe_table(options.quantize, options.block_size),
        "max_tokens": options.max_tokens,
        "prefill_lengths": list(options.prefill_lengths),
        "start_token_id": options.start_token_id,
        "stop_token_ids": list(options.stop_token_ids),
        "signatures": signatures,
    }


def compare(causal_lm, result, options, exact):
    """The verification dict: LiteRT-LM's greedy text (`result` of `BundleRunner.generate`)
    against Keras `generate` on the same ids (start token + the tokenizer's ids)."""
    backend, start_id = options.backend, options.start_token_id
    prompt, new_tokens = options.verify_prompt, options.verify_new_tokens
    prompt_ids = backend.encode(prompt, add_special_tokens=False).ids
    ids = ([start_id] if start_id is not None else []) + prompt_ids
    if len(ids) + new_tokens > options.max_tokens:
        raise ValueError(
            f"The verification prompt has {len(ids)} tokens; with {new_tokens} new tokens it "
            f"exceeds max_tokens={options.max_tokens}. Pass a shorter verify_prompt."
        )
    out = causal_lm.generate([ids], max_new_tokens=new_tokens, end_token_id=())["token_ids"]
    new = np.asarray(out)[0, len(ids) :].tolist()
    for i, token in enumerate(new):
        if token in options.stop_token_ids:
            new = new[:i]
            break
    keras_text = backend.decode(new, skip_special_tokens=False)
    runtime_ids = result["text_ids"]
    same = sum(a == b for a, b in zip(new, runtime_ids))
    match = keras_text == result["text"]
    return {
        "prompt": prompt,
        "prompt_ids": ids,
        "tokenizer_match": result["prompt_ids"] == prompt_ids,
        "keras_ids": new,
        "keras_text": keras_text,
        "runtime_ids": runtime_ids,
        "runtime_text": result["text"],
        "greedy_match": match,
        "token_agreement": same / max(len(new), len(runtime_ids), 1),
        "criteria": "LiteRT-LM greedy text == Keras generate text"
        if exact
        else "int4: token agreement reported (no exactness required)",
        "ok": bool(match and result["prompt_ids"] == prompt_ids) if exact else True,
    }


def bundled_tflite(path, folder):
    """Unpacks the bundle's TFLite model into `folder`; returns its path."""
    import glob

    from litert_lm_builder import unpack

    unpack(os.fspath(path), folder)
    (found,) = glob.glob(os.path.join(folder, "*.tflite"))
    return found


def signature_shapes(tflite_path):
    """`{signature: {"inputs": {name: shape}, "outputs": {name: shape}}}` of a TFLite file."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=tflite_path)
    out = {}
    for name in interpreter.get_signature_list():
        runner_ = interpreter.get_signature_runner(name)
        ins, outs = runner_.get_input_details(), runner_.get_output_details()
        out[name] = {
            "inputs": {k: [int(d) for d in v["shape"]] for k, v in sorted(ins.items())},
            "outputs": {k: [int(d) for d in v["shape"]] for k, v in sorted(outs.items())},
        }
    return out


def default_prompt(chat_template):
    """The chat template rendered on `DEFAULT_VERIFY_QUESTION`, or `DEFAULT_VERIFY_PROMPT`."""
    if not chat_template:
        return DEFAULT_VERIFY_PROMPT
    from tfzoo.text.chat_template import render_chat_template

    message = {"role": "user", "content": DEFAULT_VERIFY_QUESTION}
    return render_chat_template(chat_template, [message], add_generation_prompt=True)


def check_prefill_lengths(prefill_lengths, max_tokens):
    """Sorted distinct prefill lengths in `[1, max_tokens]`; by default those of
    `model.DEFAULT_PREFILL_LENGTHS` below `max_tokens` (or `max_tokens // 2`)."""
    from tfzoo.export.litertlm.model import DEFAULT_PREFILL_LENGTHS

    if prefill_lengths is None:
        lengths = [s for s in DEFAULT_PREFILL_LENGTHS if s < max_tokens]
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


def check_tokenizer(options):
    """Sets `options.backend` (a `tokenizers.Tokenizer`), `chat_template`, and the start and stop
    ids (defaults from a tfzoo tokenizer) from `options.tokenizer`, in any accepted form."""
    tokenizer, start_id, stop_ids = (
        options.tokenizer,
        options.start_token_id,
        options.stop_token_ids,
    )
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
    vocabulary_size = options.vocabulary_size
    for i in stop_ids + ((start_id,) if start_id is not None else ()):
        if not 0 <= i < min(size, vocabulary_size):
            raise ValueError(
                f"Token id {i} is not in the tokenizer (size {size}) and model vocabulary "
                f"(size {vocabulary_size}); pass ids of the model's own tokenizer."
            )
    options.backend, options.chat_template = backend, chat_template
    options.start_token_id, options.stop_token_ids = start_id, stop_ids
