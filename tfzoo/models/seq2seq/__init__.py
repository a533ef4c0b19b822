"""Encoder-decoder Transformer: `Seq2SeqBackbone`, `Seq2SeqLM` and the `transformer-*` presets.

Importing this package registers the `seq2seq` family (task `"seq2seq_lm"`) with `tfzoo.zoo`.
"""

from tfzoo.models.seq2seq.seq2seq_backbone import Seq2SeqBackbone, seq2seq_parameter_count
from tfzoo.models.seq2seq.seq2seq_lm import Seq2SeqLM, seq2seq_inputs
from tfzoo.models.seq2seq.seq2seq_presets import SEQ2SEQ_PRESETS


def _register():
    from tfzoo import zoo

    zoo.register_family("seq2seq", Seq2SeqBackbone, {"seq2seq_lm": Seq2SeqLM})
    for name, preset in SEQ2SEQ_PRESETS.items():
        zoo.register_preset(name, "seq2seq", **preset)


_register()

__all__ = [
    "SEQ2SEQ_PRESETS",
    "Seq2SeqBackbone",
    "Seq2SeqLM",
    "seq2seq_inputs",
    "seq2seq_parameter_count",
]
