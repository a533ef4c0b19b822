"""Several `.litertlm` bundles of one model (float32, int8, int4) from one conversion.

Converting a real decoder to the prefill/decode TFLite model is the slow part of the export
(SmolLM2-135M: ~450 s, 8 GB); the quantizations start from the same float model.
`export_bundles` passes one `conversions` cache to every `export_litertlm` call, so each
`(model, max_tokens, prefill_lengths, int8 embedding)` is converted once; each bundle is still
quantized, packed and verified on its own.
"""


def export_bundles(causal_lm, paths, **options):
    """Exports `causal_lm` once per `{quantize: path}` entry of `paths` (None = float32) with one
    conversion; every bundle is verified as by `tfzoo.export`. Returns `{quantize: report}`;
    a bundle that failed verification (kept at `NAME.UNVERIFIED.litertlm`) has its report too,
    with `verified` False. `options` are `export_litertlm`'s."""
    import time

    from tfzoo.export.litertlm import export_litertlm
    from tfzoo.export.verification import ExportVerificationError

    reports, conversions = {}, {}
    for quantize, path in paths.items():
        start = time.perf_counter()
        try:
            report = export_litertlm(
                causal_lm, path, quantize=quantize, conversions=conversions, **options
            )
        except ExportVerificationError as error:
            report = error.report
        report["export_seconds"] = time.perf_counter() - start
        reports[quantize] = report
    return reports
