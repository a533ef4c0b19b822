"""Several `.litertlm` bundles of one model (float32, int8, int4) from one conversion.

Converting a real decoder to the prefill/decode TFLite model is the slow part of the export
(SmolLM2-135M: ~450 s, 8 GB); the quantizations start from the same float model. Inside
`one_conversion()`, `export_litertlm` converts each `(model, max_tokens, prefill_lengths)` once
and reuses the float flatbuffer for the following exports; each bundle is still quantized,
packed and verified on its own.
"""

import contextlib


@contextlib.contextmanager
def one_conversion():
    """Context manager: float TFLite conversions reused across `export_litertlm` calls."""
    from tfzoo.export.litertlm import model

    convert = model.convert
    done = {}

    def cached(causal_lm, max_tokens, prefill_lengths, **kwargs):
        key = (
            id(causal_lm),
            int(max_tokens),
            tuple(prefill_lengths),
            tuple(sorted(kwargs.items())),
        )
        if key not in done:
            done[key] = (causal_lm, convert(causal_lm, max_tokens, prefill_lengths, **kwargs))
        return done[key][1]

    model.convert = cached
    try:
        yield
    finally:
        model.convert = convert


def export_bundles(causal_lm, paths, **options):
    """Exports `causal_lm` once per `{quantize: path}` entry of `paths` (None = float32) with one
    conversion; every bundle is verified as by `tfzoo.export`. Returns `{quantize: report}`;
    a bundle that failed verification (kept at `NAME.UNVERIFIED.litertlm`) has its report too,
    with `verified` False. `options` are `export_litertlm`'s."""
    import time

    from tfzoo.export.litertlm import export_litertlm
    from tfzoo.export.verification import ExportVerificationError

    reports = {}
    with one_conversion():
        for quantize, path in paths.items():
            start = time.perf_counter()
            try:
                report = export_litertlm(causal_lm, path, quantize=quantize, **options)
            except ExportVerificationError as error:
                report = error.report
            report["export_seconds"] = time.perf_counter() - start
            reports[quantize] = report
    return reports
