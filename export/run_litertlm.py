"""Greedy-decodes a prompt with a `.litertlm` bundle in LiteRT-LM and prints the text and speed.

    python export/run_litertlm.py model.litertlm --prompt "The capital of France is"
                                  [--max-new-tokens 32] [--max-tokens N] [--threads 2] [--json]

Needs only `litert-lm-api` (plus `_common.py` beside this file); it never imports tfzoo, Keras
or TensorFlow. The prompt is fed as raw text, as `tfzoo.export(..., format="litertlm")`
verifies it (render a chat template yourself). Prints the generated text, then LiteRT-LM's
prefill and decode tokens/s and time to first token. Exit code 0 when the bundle loads and
decodes, 1 when it cannot, 2 on bad usage.
"""

import json
import os
import sys

try:  # imported as part of a package
    from . import _common
except ImportError:  # run as a script: this file's folder is on sys.path
    import _common

PROG = "run_litertlm"


def _parse(argv):
    parser = _common._Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="a .litertlm file written by tfzoo.export")
    parser.add_argument("--prompt", required=True, help="raw text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=None, help="context; default: bundle")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.bundle):
        raise _common.UsageError(f"no file at {args.bundle}")
    if not args.bundle.endswith(".litertlm"):
        raise _common.UsageError(f"{args.bundle} is not a .litertlm bundle")
    for name in ("max_new_tokens", "threads"):
        if getattr(args, name) < 1:
            raise _common.UsageError(f"--{name.replace('_', '-')} must be >= 1")
    return args


def decode(bundle, prompt, max_new_tokens, threads, max_tokens):
    """Loads `bundle`, greedy-decodes `prompt`; returns a dict of the text and the speed."""
    try:
        import litert_lm
    except ImportError:
        raise _common.RunnerError("litert_lm is missing: pip install litert-lm-api") from None
    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    options = dict(max_num_tokens=max_tokens) if max_tokens else {}
    try:
        engine = litert_lm.Engine(
            bundle,
            backend=litert_lm.Backend.CPU(thread_count=threads),
            enable_benchmark=True,
            **options,
        )
    except Exception as e:  # noqa: BLE001 - the runtime raises its own types
        raise _common.RunnerError(f"LiteRT-LM cannot load {bundle}: {e}") from None
    greedy = litert_lm.SamplerConfig(top_k=1, temperature=0.0)
    session = engine.create_session(
        apply_prompt_template=False, sampler_config=greedy, max_output_tokens=max_new_tokens
    )
    try:
        session.run_prefill([prompt])
        text = session.run_decode().texts[0]
        speed = session.get_benchmark_info()
    finally:
        session.close()
    tokens = engine.tokenize(text) if text else []
    engine.close()
    return {
        "runner": PROG,
        "ok": True,
        "bundle": bundle,
        "prompt": prompt,
        "text": text,
        "new_tokens": len(tokens),
        "prefill_tokens_per_s": speed.last_prefill_tokens_per_second,
        "decode_tokens_per_s": speed.last_decode_tokens_per_second,
        "time_to_first_token_s": speed.time_to_first_token_in_second,
        "runtime": f"litert-lm {_version()}",
    }


def _version():
    import importlib.metadata

    try:
        return importlib.metadata.version("litert-lm-api")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _body(argv):
    args = _parse(argv)
    result = decode(args.bundle, args.prompt, args.max_new_tokens, args.threads, args.max_tokens)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(
            f"{result['text']}\n"
            f"prefill {result['prefill_tokens_per_s']:.1f} tokens/s, "
            f"decode {result['decode_tokens_per_s']:.1f} tokens/s ({result['new_tokens']} new), "
            f"first token {result['time_to_first_token_s'] * 1000:.0f} ms, {result['runtime']}\n"
        )
    sys.stdout.flush()
    return _common.EXIT_OK


def main(argv=None):
    return _common.run_main(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
