"""The zoo's tables, read from the family folders of `tfzoo.models`.

Adding a family: a folder `tfzoo/models/<family>/` whose `__init__.py` declares
`FAMILY = tfzoo.models.Family(...)`, and one line in `FAMILY_MODULES` below (see
docs/contributing.md).
"""

from tfzoo.models import (
    albert,
    bert,
    deberta,
    distilbert,
    electra,
    gemma,
    gemma2,
    gemma3,
    gpt,
    gpt_neox,
    llama,
    mistral,
    modernbert,
    phi3,
    qwen2,
    qwen3,
    roberta,
    seq2seq,
    vit,
)

#: The family modules, in the order `list_models()` lists their presets.
FAMILY_MODULES = (
    bert,
    roberta,
    distilbert,
    albert,
    electra,
    deberta,
    modernbert,
    gpt,
    llama,
    mistral,
    qwen2,
    qwen3,
    phi3,
    gemma,
    gemma2,
    gemma3,
    gpt_neox,
    seq2seq,
    vit,
)

#: Family name -> `tfzoo.models.Family`.
FAMILIES = {module.FAMILY.name: module.FAMILY for module in FAMILY_MODULES}


def _presets():
    presets = {}
    for family in FAMILIES.values():
        for name, preset in family.presets.items():
            if name in presets:
                raise ValueError(
                    f"Preset {name!r} is declared by both the {presets[name]['family']} and the "
                    f"{family.name} family; rename one."
                )
            presets[name] = {"family": family.name, **preset}
    return presets


#: Zoo name -> `{"family", "config", "description", "published_parameters"}`.
PRESETS = _presets()
