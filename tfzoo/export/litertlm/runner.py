"""Greedy decoding of a `.litertlm` bundle in LiteRT-LM; standalone (imports no tfzoo).

    python runner.py model.litertlm --prompt "Hello" --max-new-tokens 16 [--threads 2]

prints one JSON object: `text` (the generated text), `prompt_ids` (the runtime's tokens of the
prompt, start token included when the bundle has one), `text_ids` (the runtime's tokens of the
generated text), `start_token_id`, `stop_token_ids` and `benchmark` (LiteRT-LM's own prefill
and decode tokens/s and time to first token).
The prompt is fed as raw text (a chat prompt must come rendered: LiteRT-LM 0.18.1's template
engine fails on Hugging Face chat templates such as SmolLM2's, "tried to use + operator on
unsupported types string and sequence", because it passes message contents as lists).

tfzoo runs it in a separate process so that a crash of the native runtime cannot take the
exporting process down, and so that the runtime's memory is returned when it ends.
"""

import argparse
import json
import sys


def run(path, prompt, max_new_tokens, threads=2, max_tokens=None):
    import litert_lm

    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    engine = litert_lm.Engine(
        path,
        backend=litert_lm.Backend.CPU(thread_count=threads),
        max_num_tokens=max_tokens,
        activation_data_type=litert_lm.ActivationDataType.FLOAT32,
        enable_benchmark=True,
    )
    session = engine.create_session(
        apply_prompt_template=False,
        sampler_config=litert_lm.SamplerConfig(top_k=1, temperature=0.0),
        max_output_tokens=max_new_tokens,
    )
    session.run_prefill([prompt])
    text = session.run_decode().texts[0]
    info = session.get_benchmark_info()
    result = {
        "text": text,
        "prompt_ids": engine.tokenize(prompt),
        "text_ids": engine.tokenize(text) if text else [],
        "start_token_id": engine.bos_token_id,
        "stop_token_ids": engine.eos_token_ids,
        "benchmark": {
            "init_s": info.init_time_in_second,
            "time_to_first_token_s": info.time_to_first_token_in_second,
            "prefill_tokens": info.last_prefill_token_count,
            "prefill_tokens_per_s": info.last_prefill_tokens_per_second,
            "decode_tokens": info.last_decode_token_count,
            "decode_tokens_per_s": info.last_decode_tokens_per_second,
        },
    }
    session.close()
    engine.close()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    result = run(args.path, args.prompt, args.max_new_tokens, args.threads, args.max_tokens)
    sys.stdout.write("LITERTLM_RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
