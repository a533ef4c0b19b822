"""`tfzoo.build`, `tfzoo.list_models`, `tfzoo.get_config`: model names to Keras models."""

import copy
import difflib
import inspect

from tfzoo.zoo.families import FAMILIES, PRESETS


def _preset(name):
    if not isinstance(name, str) or name not in PRESETS:
        close = difflib.get_close_matches(str(name), list(PRESETS), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"Unknown model name {name!r}.{hint} Run tfzoo.list_models() (or `tfzoo models`) "
            f"for all {len(PRESETS)} names."
        )
    return PRESETS[name]


# Overrides that are dropout rates: checked here so that the error names them.
_RATES = ("dropout", "attention_dropout")


def _arguments(cls, skip=("self", "args", "kwargs", "backbone")):
    """Constructor arguments of `cls`, with those a subclass passes on through `**kwargs`."""
    names = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names += [p for p in parameters if p not in skip and p not in names]
        names += [p for p in vars(klass).get("OPTIONS", ()) if p not in names]
        if "kwargs" not in parameters or not klass.__module__.startswith("tfzoo"):
            break
    return names


def list_models(family=None):
    """Names of the zoo's models, optionally of one family (`"bert"`, `"gpt"`, `"llama"`, ...).

    Example:

    >>> tfzoo.list_models("bert")
    ['bert-tiny', 'bert-mini', 'bert-small', 'bert-medium', 'bert-base', 'bert-large']
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}. Known: {sorted(FAMILIES)}.")
    return [n for n, p in PRESETS.items() if family is None or p["family"] == family]


def get_config(name):
    """The preset of `name`: `{"family", "description", "published_parameters", "config", "tasks"}`.

    Example:

    >>> preset = tfzoo.get_config("bert-mini")   # preset.get("config") holds hidden_dim=256
    """
    preset = copy.deepcopy(_preset(name))
    preset["tasks"] = sorted(FAMILIES[preset["family"]].tasks)
    return preset


def build(name, task=None, **overrides):
    """Builds the zoo model `name`, optionally with a task head, ready for `compile`/`fit`.

    Args:
        name: string. A zoo name such as `"bert-mini"` or `"gpt2"` (see `list_models()`).
        task: string or `None`. `None` returns the backbone. BERT: `"classification"`,
            `"token_classification"`, `"masked_lm"`, `"sentence_embedding"`; GPT and Llama:
            `"causal_lm"`.
        **overrides: backbone arguments that replace the preset's (e.g. `num_layers=2`,
            `dtype="mixed_bfloat16"`) and task arguments (e.g. `num_classes=3`); `dropout=0.2`
            sets the backbone's and the task head's dropout.

    Returns:
        A `keras.Model` (weights randomly initialised; see `tfzoo.from_pretrained` for
        checkpoints).

    Example:

    >>> model = tfzoo.build("bert-tiny", task="classification", num_classes=2)
    >>> model.compile(optimizer="adam",
    ...               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """
    preset = _preset(name)
    family = FAMILIES[preset["family"]]
    backbone_cls = family.backbone
    task_cls = None
    if task is not None:
        if task not in family.tasks:
            raise ValueError(
                f"Unknown task {task!r} for {name} ({preset['family']} family). Supported: "
                f"{sorted(family.tasks)}."
            )
        task_cls = family.tasks[task]
    backbone_keys = set(_arguments(backbone_cls)) | {"name"}
    task_keys = set(_arguments(task_cls)) if task_cls else set()
    unknown = sorted(set(overrides) - backbone_keys - task_keys)
    if unknown:
        raise ValueError(
            f"Unknown override(s) {unknown} for {name!r}"
            + (f" with task={task!r}" if task else "")
            + f". Valid keys: backbone {sorted(backbone_keys - {'name'})}"
            + (f"; task {sorted(task_keys)}" if task_keys else "")
            + "."
        )
    for key in _RATES:
        value = overrides.get(key)
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1
        ):
            # Keras would name its own argument (`rate`), not the one the user passed.
            raise ValueError(f"`{key}` must be a number in [0, 1). Received: {key}={value!r}")
    config = dict(preset["config"])
    config.update({k: v for k, v in overrides.items() if k in backbone_keys})
    # A key both take (`dropout`) goes to both: `dropout=0.0` must switch off the head's too.
    task_args = {k: v for k, v in overrides.items() if k in task_keys}
    backbone = backbone_cls(**config)
    if task_cls is None:
        return backbone
    missing = [
        p.name
        for p in inspect.signature(task_cls.__init__).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.name not in ("self", "backbone", "kwargs")
        and p.name not in task_args
    ]
    if missing:
        raise ValueError(
            f"task={task!r} needs {missing}, e.g. tfzoo.build({name!r}, task={task!r}, "
            + ", ".join(f"{m}=..." for m in missing)
            + ")."
        )
    return task_cls(backbone, **task_args)
