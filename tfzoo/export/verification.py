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
            failures.append(f"the artifact has no output {name!r} (it has {sorted(actual)})")
            results.append(
                {
                    **result,
                    "max_abs_diff": None,
                    "cosine": None,
                    "top1": None,
                    "ok": False,
                    "failures": failures,
                }
            )
            continue
        got = np.asarray(actual[name])
        if got.shape != expected.shape:
            failures.append(f"shape {got.shape} != Keras shape {expected.shape}")
            results.append(
                {
                    **result,
                    "max_abs_diff": None,
                    "cosine": None,
                    "top1": None,
                    "ok": False,
                    "failures": failures,
                }
            )
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
