"""`Family`: what a model family folder declares, for the zoo and the converters to read.

A family folder (`tfzoo/models/<family>/`) holds its backbone, its task classes, its presets
and its checkpoint converters, and exposes them as one `FAMILY = Family(...)` in its
`__init__.py`. It never imports `tfzoo.zoo`: the zoo reads the `FAMILY` of every module listed
in `tfzoo/zoo/families.py`, so dependencies point one way (layers <- models <- zoo <- convert).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """One model family: a backbone class, its tasks, its presets and its converters.

    Attributes:
        name: string. The family's zoo name (`"bert"`, `"llama"`), as in
            `tfzoo.list_models(family)`.
        backbone: the backbone class (a `tfzoo.models.Backbone`).
        tasks: dict of task name -> task class (each takes the backbone first), e.g.
            `{"causal_lm": tfzoo.models.CausalLM}`.
        presets: dict of zoo name -> `{"config": dict of backbone arguments, "description":
            string, "published_parameters": int or None}` (the count the paper or model card
            gives; `None` when only a rounded figure is published).
        converters: dict of checkpoint format -> converter module. `"hugging_face"`: a module
            naming the Hugging Face tensors of this family (`MODEL_TYPE`, `ARCHITECTURES`,
            `slots(model, prefix)`, ...; see `tfzoo/models/bert/bert_hf.py`), read by
            `tfzoo.from_pretrained` and `tfzoo.save_pretrained`. Defaults to none.
    """

    name: str
    backbone: type
    tasks: dict
    presets: dict
    converters: dict = dataclasses.field(default_factory=dict)


def decoder_family(name, backbone, presets, hugging_face):
    """The `Family` of a decoder-only family: `causal_lm` task, a Hugging Face converter."""
    from tfzoo.models.causal_lm import CausalLM

    return Family(
        name=name,
        backbone=backbone,
        tasks={"causal_lm": CausalLM},
        presets=presets,
        converters={"hugging_face": hugging_face},
    )


def preset(description, published_parameters=None, **config):
    """One preset entry: the backbone arguments `config`, a description, the published count."""
    return dict(config=config, description=description, published_parameters=published_parameters)


#: The order of `decoder_preset`'s `dims`.
DECODER_DIMS = (
    "num_layers",
    "hidden_dim",
    "num_heads",
    "num_key_value_heads",
    "intermediate_dim",
    "vocabulary_size",
    "max_sequence_length",
)


def decoder_preset(description, published_parameters, dims, **options):
    """A decoder preset: `dims` gives the `DECODER_DIMS` in order, `options` the rest."""
    return preset(description, published_parameters, **dict(zip(DECODER_DIMS, dims)), **options)
