"""Encoder-decoder Transformer: `Seq2SeqBackbone`, `Seq2SeqLM` and the `transformer-*` presets."""

from tfzoo.models.family import Family
from tfzoo.models.seq2seq.seq2seq_backbone import Seq2SeqBackbone, seq2seq_parameter_count
from tfzoo.models.seq2seq.seq2seq_lm import Seq2SeqLM, seq2seq_inputs
from tfzoo.models.seq2seq.seq2seq_presets import SEQ2SEQ_PRESETS

FAMILY = Family("seq2seq", Seq2SeqBackbone, {"seq2seq_lm": Seq2SeqLM}, SEQ2SEQ_PRESETS)

__all__ = [
    "FAMILY",
    "SEQ2SEQ_PRESETS",
    "Seq2SeqBackbone",
    "Seq2SeqLM",
    "seq2seq_inputs",
    "seq2seq_parameter_count",
]
