"""The encoder families added after BERT, exported to TFLite int8 and ONNX and verified.

Tiny models (1 layer, hidden 16, 2 heads, vocabulary 64, sequence 16): RoBERTa, DistilBERT and
ALBERT, DeBERTa-v3 and ModernBERT classifiers, ELECTRA's discriminator and BERT's question-answering head (two outputs). `tfzoo.export` runs each artifact
in its runtime (LiteRT, ONNX Runtime) against Keras before it reports `verified`.
"""

import os

import numpy as np
import pytest

import tfzoo
from tfzoo.export import export

TEXT = dict(
    num_layers=1,
    hidden_dim=16,
    num_heads=2,
    intermediate_dim=32,
    vocabulary_size=64,
    max_sequence_length=16,
)
MODELS = {
    "roberta": ("roberta-base", "classification", {"num_classes": 3}),
    "distilbert": ("distilbert-base", "classification", {"num_classes": 3}),
    "bert_qa": ("bert-tiny", "question_answering", {}),
    "electra": ("electra-small", "replaced_token_detection", {}),
    "deberta": ("deberta-v3-xsmall", "classification", {"num_classes": 3, "position_buckets": 4}),
    "modernbert": ("modernbert-base", "classification", {"num_classes": 3, "local_window": 4}),
    "albert": ("albert-base", "classification", {"num_classes": 3, "embedding_dim": 8}),
}


@pytest.mark.parametrize("fmt, quantize", [("tflite", "int8"), ("onnx", None)])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_encoder_exports_verify(tmp_path, name, fmt, quantize):
    preset, task, args = MODELS[name]
    model = tfzoo.build(preset, task=task, **args, **TEXT)
    path = str(tmp_path / f"{name}.{fmt}")
    rng = np.random.default_rng(0)
    data = [
        {
            "token_ids": rng.integers(3, 64, (2, 16)).astype("int32"),
            "padding_mask": np.ones((2, 16), "int32"),
            "segment_ids": np.zeros((2, 16), "int32"),
        }
        for _ in range(4)
    ]
    names = model.backbone.input_names
    data = [{k: v for k, v in batch.items() if k in names} for batch in data]
    report = export(
        model,
        path,
        quantize=quantize,
        representative_data=data if quantize == "int8" else None,
        print_report=False,
    )
    assert report.verified and os.path.isfile(path)
    assert report.ops["non_builtin"] == []
    if quantize is None:
        assert all(o["cosine"] > 0.9999 for o in report.outputs), report.outputs
