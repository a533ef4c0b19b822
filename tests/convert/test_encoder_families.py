"""Encoder families against Hugging Face transformers on identical weights.

Every family x task: a tiny random checkpoint written by `transformers`, read by
`tfzoo.from_pretrained`, outputs within 1e-4 on a right-padded batch; then
`tfzoo.save_pretrained` read back by `transformers` with the same outputs. Adding a family is
one entry in `FAMILIES`.
"""

import dataclasses

import numpy as np
import pytest
import torch
import transformers

import tfzoo
from tests.convert.hf_models import HIDDEN, MAX_LEN, VOCAB, save_hf

ATOL = 1e-4


@dataclasses.dataclass(frozen=True)
class Case:
    config: object  # a transformers config
    classes: dict  # tfzoo task (None: backbone) -> transformers class
    pad_id: int = 0
    segments: bool = True
    segment_input: bool = True  # the tfzoo backbone takes `segment_ids` (ModernBERT does not)


_BERT_SIZES = dict(
    vocab_size=VOCAB,
    hidden_size=HIDDEN,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
)
FAMILIES = {
    "bert": Case(
        transformers.BertConfig(**_BERT_SIZES, max_position_embeddings=MAX_LEN),
        {"question_answering": transformers.BertForQuestionAnswering},
    ),
    "roberta": Case(
        transformers.RobertaConfig(
            **_BERT_SIZES, max_position_embeddings=MAX_LEN + 2, type_vocab_size=1, pad_token_id=1
        ),
        {
            None: transformers.RobertaModel,
            "masked_lm": transformers.RobertaForMaskedLM,
            "classification": transformers.RobertaForSequenceClassification,
            "token_classification": transformers.RobertaForTokenClassification,
            "question_answering": transformers.RobertaForQuestionAnswering,
        },
        pad_id=1,
        segments=False,
    ),
    "xlm-roberta": Case(
        transformers.XLMRobertaConfig(
            **_BERT_SIZES, max_position_embeddings=MAX_LEN + 2, type_vocab_size=1, pad_token_id=1
        ),
        {
            None: transformers.XLMRobertaModel,
            "masked_lm": transformers.XLMRobertaForMaskedLM,
            "classification": transformers.XLMRobertaForSequenceClassification,
        },
        pad_id=1,
        segments=False,
    ),
    "distilbert": Case(
        transformers.DistilBertConfig(
            vocab_size=VOCAB,
            dim=HIDDEN,
            n_layers=2,
            n_heads=2,
            hidden_dim=64,
            max_position_embeddings=MAX_LEN,
        ),
        {
            None: transformers.DistilBertModel,
            "masked_lm": transformers.DistilBertForMaskedLM,
            "classification": transformers.DistilBertForSequenceClassification,
            "token_classification": transformers.DistilBertForTokenClassification,
            "question_answering": transformers.DistilBertForQuestionAnswering,
        },
        segments=False,
    ),
    "electra": Case(
        transformers.ElectraConfig(
            **_BERT_SIZES, embedding_size=16, max_position_embeddings=MAX_LEN
        ),
        {
            None: transformers.ElectraModel,
            "replaced_token_detection": transformers.ElectraForPreTraining,
            "masked_lm": transformers.ElectraForMaskedLM,
            "classification": transformers.ElectraForSequenceClassification,
            "token_classification": transformers.ElectraForTokenClassification,
            "question_answering": transformers.ElectraForQuestionAnswering,
        },
    ),
    "albert": Case(
        transformers.AlbertConfig(
            **_BERT_SIZES, embedding_size=16, max_position_embeddings=MAX_LEN
        ),
        {
            None: transformers.AlbertModel,
            "masked_lm": transformers.AlbertForMaskedLM,
            "classification": transformers.AlbertForSequenceClassification,
            "token_classification": transformers.AlbertForTokenClassification,
            "question_answering": transformers.AlbertForQuestionAnswering,
        },
    ),
    "deberta-v3": Case(
        transformers.DebertaV2Config(
            **_BERT_SIZES,
            max_position_embeddings=MAX_LEN,
            relative_attention=True,
            position_buckets=8,
            pos_att_type=["p2c", "c2p"],
            share_att_key=True,
            norm_rel_ebd="layer_norm",
            position_biased_input=False,
            type_vocab_size=0,
            layer_norm_eps=1e-7,
        ),
        {
            None: transformers.DebertaV2Model,
            "masked_lm": transformers.DebertaV2ForMaskedLM,
            "classification": transformers.DebertaV2ForSequenceClassification,
            "token_classification": transformers.DebertaV2ForTokenClassification,
            "question_answering": transformers.DebertaV2ForQuestionAnswering,
        },
        segments=False,
    ),
    "deberta-v2": Case(  # own position projections, absolute positions, segments, no buckets
        transformers.DebertaV2Config(
            **_BERT_SIZES,
            max_position_embeddings=MAX_LEN,
            relative_attention=True,
            pos_att_type="c2p|p2c",
            share_att_key=False,
            position_biased_input=True,
            type_vocab_size=2,
            embedding_size=16,
        ),
        {None: transformers.DebertaV2Model},
    ),
    "modernbert": Case(
        transformers.ModernBertConfig(
            vocab_size=VOCAB,
            hidden_size=HIDDEN,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=48,
            max_position_embeddings=MAX_LEN,
            local_attention=6,  # 3 tokens each side: the sliding window is exercised at seq 12
            global_attn_every_n_layers=2,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            cls_token_id=1,
            sep_token_id=2,
        ),
        {
            None: transformers.ModernBertModel,
            "masked_lm": transformers.ModernBertForMaskedLM,
            "classification": transformers.ModernBertForSequenceClassification,
            "token_classification": transformers.ModernBertForTokenClassification,
            "question_answering": transformers.ModernBertForQuestionAnswering,
        },
        segments=False,
        segment_input=False,
    ),
}
CASES = [(family, task) for family, case in FAMILIES.items() for task in case.classes]


def _batch(case, seed=0, batch_size=3, seq=12):
    """Right-padded ids that avoid the padding id (RoBERTa numbers positions around it)."""
    rng = np.random.RandomState(seed)
    ids = rng.randint(3, VOCAB, (batch_size, seq)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, seq - 4 :] = 0
    mask[2, 5:] = 0
    ids = np.where(mask == 1, ids, case.pad_id).astype("int32")
    segments = np.zeros_like(ids)
    if case.segments:
        segments[:, seq // 2 :] = 1
        segments *= mask
    inputs = {"token_ids": ids, "padding_mask": mask, "segment_ids": segments}
    if not case.segment_input:
        del inputs["segment_ids"]
    return inputs


def _hf_outputs(model, inputs, case):
    kwargs = {
        "input_ids": torch.tensor(inputs["token_ids"], dtype=torch.long),
        "attention_mask": torch.tensor(inputs["padding_mask"], dtype=torch.long),
    }
    if case.segments:
        kwargs["token_type_ids"] = torch.tensor(inputs["segment_ids"], dtype=torch.long)
    with torch.no_grad():
        out = model(**kwargs)
    if hasattr(out, "start_logits"):
        return {"start_logits": out.start_logits.numpy(), "end_logits": out.end_logits.numpy()}
    if hasattr(out, "logits"):
        return out.logits.numpy()
    return out.last_hidden_state.numpy()


def _tfzoo_outputs(model, inputs):
    out = model(inputs)
    if isinstance(out, dict) and "sequence_output" in out:
        return np.asarray(out["sequence_output"])
    if isinstance(out, dict):
        return {k: np.asarray(v) for k, v in out.items()}
    return np.asarray(out)


def _assert_close(ours, theirs, mask):
    if isinstance(theirs, dict):
        for key in theirs:
            _assert_close(ours[key], theirs[key], mask)
        return
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if ours.ndim >= 2 and ours.shape[1] == mask.shape[1]:  # per token: real tokens only
        ours, theirs = ours[mask.astype(bool)], theirs[mask.astype(bool)]
    np.testing.assert_allclose(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("family, task", CASES)
def test_outputs_match_transformers_both_ways(tmp_path, family, task):
    case = FAMILIES[family]
    hf_class = case.classes[task]
    reference = save_hf(hf_class, case.config, tmp_path / "hf")
    inputs = _batch(case)
    expected = _hf_outputs(reference, inputs, case)

    model = tfzoo.from_pretrained(tmp_path / "hf", task=task)
    _assert_close(_tfzoo_outputs(model, inputs), expected, inputs["padding_mask"])

    saved = tfzoo.save_pretrained(model, tmp_path / "saved")
    again = hf_class.from_pretrained(saved).eval()
    _assert_close(_hf_outputs(again, inputs, case), expected, inputs["padding_mask"])


def _hf_parameter_count(model):
    """The same model rebuilt by transformers from tfzoo's `config.json`, counted on meta."""
    from tfzoo.convert.hugging_face import _converter_of

    converter = _converter_of(model)
    architecture = converter.architecture_of(model)
    config = transformers.AutoConfig.for_model(
        converter.MODEL_TYPE, **converter.hf_config(model, architecture)
    )
    with torch.device("meta"):
        reference = getattr(transformers, architecture)(config)
    return sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize(
    "name",
    [
        "distilbert-base",
        "roberta-base",
        "electra-small",
        "albert-base",
        "deberta-v3-xsmall",
        pytest.param("modernbert-base", marks=pytest.mark.slow),
        pytest.param("electra-base", marks=pytest.mark.slow),
        pytest.param("roberta-large", marks=pytest.mark.slow),
        pytest.param("xlm-roberta-base", marks=pytest.mark.slow),
    ],
)
def test_preset_parameter_counts(name):
    model = tfzoo.build(name)
    assert model.count_params() == tfzoo.get_config(name)["published_parameters"]
    assert model.count_params() == _hf_parameter_count(model)


@pytest.mark.parametrize(
    "family", ["roberta", "distilbert", "electra", "albert", "deberta", "modernbert"]
)
def test_tiny_encoder_classifier_fits_and_round_trips_keras(tmp_path, family):
    import keras

    config = dict(
        vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=HIDDEN, intermediate_dim=64
    )
    spec = tfzoo.zoo.FAMILIES[family]
    model = spec.tasks["classification"](spec.backbone(**config, max_sequence_length=16), 3)
    inputs = _batch(FAMILIES["deberta-v3" if family == "deberta" else family], seq=16)
    model.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(inputs, np.array([0, 1, 2]), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again) is type(model)
    np.testing.assert_allclose(again(inputs), model(inputs), atol=1e-6)
