"""Train a small encoder-decoder on a text-to-text task over real sentences; report exact match
and BLEU of greedy and beam-search decoding on held-out sentences.

The task (the same as the slow test `tests/models/test_seq2seq.py::
test_reverse_words_of_real_movie_review_sentences`): windows of 5 consecutive words from the
movie-review sentences of `tfzoo.data.load_movie_reviews()` (whose words are all among the 500 most
frequent training words) -> the same words in reverse order. Training windows come from the
training split, test windows from the held-out test split. Metrics on the test windows: exact
match of all 5 words, and corpus BLEU (`sacrebleu`, default 13a tokenisation, on the words joined
by spaces) of the decoded text against the single reference.

Usage (about 3 minutes of training and 40 s of decoding on 2 shared CPU cores):

    python benchmarks/train_seq2seq.py --out benchmarks/results/seq2seq_reverse_words.json
"""

import argparse
import collections
import json
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PAD, START, END = 0, 1, 2


def _words(text):
    return re.findall(r"[a-z']+", text.lower())


def make_task(vocabulary=500, window=5):
    """Returns `(train, test, id_to_word)`: int32 `(n, window)` word-id windows and the vocabulary."""
    import numpy as np

    from tfzoo.data import load_movie_reviews

    data = load_movie_reviews()
    counts = collections.Counter(w for t in data.train.texts for w in _words(t))
    ids = {w: i + 3 for i, (w, _) in enumerate(counts.most_common(vocabulary))}

    def windows(texts):
        out = []
        for text in texts:
            ws = _words(text)
            for i in range(0, len(ws) - window + 1, window):
                if all(w in ids for w in ws[i : i + window]):
                    out.append([ids[w] for w in ws[i : i + window]])
        return np.array(out, "int32")

    id_to_word = {i: w for w, i in ids.items()}
    return windows(data.train.texts), windows(data.test.texts), id_to_word


def _text(row, id_to_word):
    """Decoded ids up to the end token, as words joined by spaces."""
    words = []
    for token in row:
        if token in (END, PAD):
            break
        words.append(id_to_word.get(int(token), "<unk>"))
    return " ".join(words)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/seq2seq_reverse_words.json")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import sacrebleu

    import tfzoo
    from tfzoo.models.seq2seq import seq2seq_inputs

    keras.utils.set_random_seed(args.seed)
    train, test, id_to_word = make_task()
    target = np.concatenate([train[:, ::-1], np.full((len(train), 1), END, "int32")], axis=1)
    x, y, w = seq2seq_inputs(train, target, start_token_id=START, pad_token_id=PAD)
    config = dict(
        num_layers=2,
        hidden_dim=64,
        num_heads=4,
        intermediate_dim=128,
        vocabulary_size=len(id_to_word) + 3,
        max_sequence_length=16,
        dropout=0.0,
        normalize_first=True,
    )
    model = tfzoo.build("transformer-base", task="seq2seq_lm", **config)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    history = model.fit(x, y, sample_weight=w, epochs=args.epochs, batch_size=64, verbose=2)
    train_seconds = time.perf_counter() - start

    references = [_text(row[::-1], id_to_word) for row in test]
    results = {}
    for name, beams in (("greedy", 1), (f"beam_{args.beams}", args.beams)):
        start = time.perf_counter()
        out = model.generate(
            test, max_new_tokens=6, start_token_id=START, end_token_id=END, num_beams=beams
        )
        seconds = time.perf_counter() - start
        tokens = np.asarray(out["token_ids"])[:, 1:]
        exact = float(np.mean((tokens[:, :5] == test[:, ::-1]).all(1) & (tokens[:, 5] == END)))
        hypotheses = [_text(row, id_to_word) for row in tokens]
        metric = sacrebleu.metrics.BLEU()
        bleu = metric.corpus_score(hypotheses, [references])
        results[name] = {
            "num_beams": beams,
            "exact_match": exact,
            "bleu": round(bleu.score, 2),
            "bleu_detail": str(bleu),
            "bleu_signature": str(metric.get_signature()),
            "decode_seconds": round(seconds, 2),
            "examples": [
                {"source": _text(s, id_to_word), "output": h, "reference": r}
                for s, h, r in list(zip(test, hypotheses, references))[:3]
            ],
        }
        print(f"{name}: exact match {exact:.3f}, BLEU {bleu.score:.2f} ({seconds:.1f} s)")

    report = {
        "benchmark": "seq2seq: reverse 5-word windows of real movie-review sentences",
        "command": "python benchmarks/train_seq2seq.py",
        "data": {
            "source": "tfzoo.data.load_movie_reviews() (train split -> training, test -> test)",
            "vocabulary": "500 most frequent training words + pad/start/end",
            "train_windows": int(len(train)),
            "test_windows": int(len(test)),
        },
        "model": dict(config, preset="transformer-base", parameters=int(model.count_params())),
        "training": {
            "epochs": args.epochs,
            "batch_size": 64,
            "optimizer": "Adam 2e-3",
            "seed": args.seed,
            "final_loss": float(history.history["loss"][-1]),
            "seconds": round(train_seconds, 1),
        },
        "results": results,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
