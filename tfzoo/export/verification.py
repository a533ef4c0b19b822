"""How an exported artifact is judged against the Keras model it came from.

Default tolerances (per output; `scale` is the largest absolute value of the Keras output, at
least 1, so the bound is relative for large outputs and absolute for small ones):

| artifact                          | criterion                                   |
|-----------------------------------|---------------------------------------------|
| float32 (SavedModel, ONNX, TFLite) | max abs diff <= 1e-4 * scale                |
| TFLite float16 weights            | max abs diff <= 1e-2 * scale, cosine >= 0.999 |
| TFLite dynamic-range int8         | cosine >= 0.995                             |
| TFLite int16x8                    | cosine >= 0.999                             |
| TFLite int8 (mixed, or QAT)       | cosine >= 0.90                              |
| TFLite int8-full (strict)         | cosine >= 0.90                              |

Top-1 agreement (argmax over the last axis) is measured and reported for `logits` outputs but
gates nothing by default: on the random-weight models of a test suite near-tied logits flip
under any rounding. Pass `tolerance=` to `tfzoo.export` to gate on it (e.g.
`{"cosine_min": 0.99, "top1_min": 0.95, "top1_outputs": ["logits"]}` for a trained int8 model).

Dynamic range quantizes activations on the fly, per tensor and per call: on the fine-tuned MiniLM
classifier of `tfzoo demo` it measured cosine 0.9989 on the logits of 8 test sentences, so its
bound is 0.995.

The int8 bounds are loose on purpose. Strict full-integer TFLite (`"int8-full"`, and QAT
files) runs LayerNorm's mean and variance in int8 with one scale per tensor; on random tiny
BERT/GPT models that alone costs cosine 0.93-0.97 (Llama's RMSNorm stays in float and keeps
0.999). The mixed `"int8"` path keeps LayerNorm, softmax and the residual stream in float and
measured much closer: cosine 0.99998 on a random bert-mini (sequence 128) and 0.999995 on the
fine-tuned MiniLM classifier (2 test sentences, sequence 64); its bound stays 0.90 until the
ViT and causal-LM exports have been measured under it (pass `tolerance=` to gate a trained
model harder). A broken export (wrong weights, wrong inputs) gives a cosine near 0 and still
fails.
"""

import numpy as np

FLOAT32_RTOL = 1e-4
FLOAT16_RTOL = 1e-2
COSINE_MIN = {"float16": 0.999, "dynamic": 0.995, "int16x8": 0.999, "int8": 0.90, "int8-full": 0.90}


class ExportVerificationError(RuntimeError):
    """An exported artifact disagrees with the Keras model beyond its tolerance.

    The artifact is kept under an `.UNVERIFIED` name (never at the requested path), with its
    reference files and report beside it, for inspection.

    Attributes:
        report: the `tfzoo.export.ExportReport` of the failed export (or the runner's result
            dict for `tfzoo.export.verify`).
        path: str. Where the unverified artifact was kept.
    """

    def __init__(self, message, report=None, path=None):
        super().__init__(message)
        self.report = report
        self.path = path


def top1_outputs(reference):
    """Outputs whose argmax means something: the `logits` of classifiers and language models."""
    return [
        name
        for name, value in reference.items()
        if name == "logits" and value.ndim >= 2 and value.shape[-1] > 1
    ]


def default_tolerance(quantize, reference):
    """The `write_reference` tolerance dict for an artifact of this quantization mode.

    Args:
        quantize: `None` (float32) or one of `"dynamic"`, `"float16"`, `"int8"`, `"int16x8"`.
        reference: dict of output name to the Keras model's output array.

    Returns:
        A tolerance dict (`atol`, `cosine_min`, `top1_outputs`, `per_output`).
    """
    per_output = {}
    for name, value in reference.items():
        scale = max(1.0, float(np.max(np.abs(value)))) if value.size else 1.0
        if quantize is None:
            per_output[name] = {"atol": FLOAT32_RTOL * scale}
        elif quantize == "float16":
            per_output[name] = {"atol": FLOAT16_RTOL * scale}
    tolerance = {"top1_outputs": top1_outputs(reference), "per_output": per_output}
    if quantize is not None:
        tolerance["cosine_min"] = COSINE_MIN[quantize]
    return tolerance


def criteria_for(tolerance, name):
    """The criteria (`atol`, `cosine_min`, `top1_min`) that judge output `name`."""
    criteria = {k: tolerance.get(k) for k in ("atol", "cosine_min", "top1_min")}
    criteria.update((tolerance.get("per_output") or {}).get(name, {}))
    return criteria


def compare(reference, actual, tolerance):
    """Compares the artifact's outputs with the Keras outputs, output by output.

    Args:
        reference: dict of name to Keras output array.
        actual: dict of name to the artifact's output array (same names).
        tolerance: a tolerance dict as `default_tolerance` returns.

    Returns:
        A list of dicts: `name`, `shape`, `max_abs_diff`, `cosine`, `top1`, `criteria`, `ok`,
        `failures` (sentences).
    """
    results = []
    top1_names = set(tolerance.get("top1_outputs") or [])
    for name, expected in reference.items():
        criteria = criteria_for(tolerance, name)
        result = {"name": name, "shape": list(expected.shape), "criteria": criteria}
        failures = []
        if name not in actual:
            problem = f"the artifact has no output {name!r} (it has {sorted(actual)})"
            results.append(unmeasured(name, expected, criteria, problem))
            continue
        got = np.asarray(actual[name])
        if got.shape != expected.shape:
            problem = f"shape {got.shape} != Keras shape {expected.shape}"
            results.append(unmeasured(name, expected, criteria, problem))
            continue
        a = got.astype(np.float64).ravel()
        e = expected.astype(np.float64).ravel()
        max_abs = float(np.max(np.abs(a - e))) if a.size else 0.0
        norms = float(np.linalg.norm(a) * np.linalg.norm(e))
        cosine = float(a @ e / norms) if norms > 0 else float(not a.any() and not e.any())
        top1 = None
        if name in top1_names:
            top1 = float(np.mean(np.argmax(got, -1) == np.argmax(expected, -1)))
        if not np.all(np.isfinite(a)):
            failures.append("non-finite values in the artifact's output")
        if criteria.get("atol") is not None and not max_abs <= criteria["atol"]:
            failures.append(f"max_abs_diff {max_abs:.3e} > atol {criteria['atol']:.3e}")
        if criteria.get("cosine_min") is not None and not cosine >= criteria["cosine_min"]:
            failures.append(f"cosine {cosine:.6f} < cosine_min {criteria['cosine_min']}")
        if criteria.get("top1_min") is not None and top1 is not None:
            if not top1 >= criteria["top1_min"]:
                failures.append(f"top1 {top1:.4f} < top1_min {criteria['top1_min']}")
        results.append(
            {
                **result,
                "max_abs_diff": max_abs,
                "cosine": cosine,
                "top1": top1,
                "ok": not failures,
                "failures": failures,
            }
        )
    return results


def unmeasured(name, expected, criteria, problem):
    """The `compare` result of an output that could not be measured, and why."""
    return {
        "name": name,
        "shape": list(expected.shape),
        "criteria": criteria,
        "max_abs_diff": None,
        "cosine": None,
        "top1": None,
        "ok": False,
        "failures": [problem],
    }


def unverified_error(subject, detail, final, path, report):
    """The error of an artifact that disagrees with the Keras model and was kept at `final`."""
    return ExportVerificationError(
        f"The {subject} disagrees with the Keras model ({detail}). It was kept at {final} for "
        f"inspection, not at {path}.",
        report=report,
        path=final,
    )


# --- decoders --------------------------------------------------------------------------------

VERIFY_PROMPT_LENGTH = 5
VERIFY_NEW_TOKENS = 8


def compare_decoder(causal_lm, decoder, quantize, max_length):
    """Greedy ids and step logits of a decoder artifact against `generate` and the forward pass.

    A float32 artifact must give exactly the token ids of `causal_lm.generate` and logits within
    `1e-4 * scale`; a quantized one must keep cosine >= `COSINE_MIN[quantize]` on teacher-forced
    logits (greedy ids of random-weight models flip on near-ties under any rounding; they are
    reported).

    Args:
        causal_lm: the `tfzoo.models.CausalLM` the artifact was exported from.
        decoder: the artifact's runtime object (`step_logits(prompt, new_tokens, forced=None)`).
        quantize: `None` or the artifact's quantization mode.
        max_length: int. Positions in the artifact's cache.

    Returns:
        A dict: `prompt`, `new_tokens`, `expected_ids`, `runtime_ids`, `greedy_match`,
        `max_abs_diff`, `cosine`, `top1`, `criteria`, `ok`.
    """
    vocab = causal_lm.backbone.vocabulary_size
    prompt_length = min(VERIFY_PROMPT_LENGTH, max_length - 1)
    new_tokens = max(1, min(VERIFY_NEW_TOKENS, max_length - prompt_length))
    prompt = np.random.default_rng(0).integers(0, vocab, (1, prompt_length)).astype("int32")
    expected_ids = np.asarray(causal_lm.generate(prompt, max_new_tokens=new_tokens)["token_ids"])
    full = expected_ids[:, :-1]
    expected_logits = np.asarray(
        causal_lm({"token_ids": full, "padding_mask": np.ones_like(full)}, training=False)
    )[0, prompt_length - 1 :]  # (new_tokens, vocab): logits that chose each new token

    greedy_ids, _ = decoder.step_logits(prompt, new_tokens)
    _, forced_logits = decoder.step_logits(
        prompt, new_tokens, forced=expected_ids[0, prompt_length:]
    )
    diff = float(np.max(np.abs(forced_logits - expected_logits)))
    scale = max(1.0, float(np.max(np.abs(expected_logits))))
    a, b = forced_logits.ravel().astype("float64"), expected_logits.ravel().astype("float64")
    cosine = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
    top1 = float(np.mean(forced_logits.argmax(-1) == expected_logits.argmax(-1)))
    greedy_match = bool(np.array_equal(greedy_ids, expected_ids))
    if quantize is None:
        criteria = {"greedy_match": True, "max_abs_diff": FLOAT32_RTOL * scale}
        ok = greedy_match and diff <= FLOAT32_RTOL * scale
    else:
        criteria = {"cosine_min": COSINE_MIN[quantize]}
        ok = cosine >= COSINE_MIN[quantize]
    return {
        "prompt": prompt[0].tolist(),
        "new_tokens": int(new_tokens),
        "expected_ids": expected_ids[0].tolist(),
        "runtime_ids": greedy_ids[0].tolist(),
        "greedy_match": greedy_match,
        "max_abs_diff": diff,
        "cosine": cosine,
        "top1": top1,
        "criteria": criteria,
        "ok": bool(ok),
    }
