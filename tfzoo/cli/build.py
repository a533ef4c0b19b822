"""`tfzoo build`: build a zoo model, report its size, optionally save it as `.keras`."""

import json

from tfzoo.cli.common import add_command, save_keras
from tfzoo.cli.errors import UserError, check_keras_output, one_line


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "build",
        "build a zoo model and report its size (optionally save it as .keras)",
        [
            "tfzoo build bert-mini",
            "tfzoo build bert-tiny --task classification --num-classes 2 --output clf.keras",
            "tfzoo build gpt2 --task causal_lm --set num_layers=2 --set dtype=mixed_bfloat16",
        ],
    )
    p.add_argument("name", help="zoo model name (see `tfzoo models`)")
    p.add_argument("--task", help="task head, e.g. classification, masked_lm, causal_lm")
    p.add_argument("--num-classes", type=int, help="classes for classification heads")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--output", help="save the model to this .keras file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.set_defaults(func=run)


def parse_overrides(pairs):
    """`["num_layers=2", "dtype=mixed_bfloat16"]` -> `{"num_layers": 2, "dtype": "mixed_..."}`."""
    overrides = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UserError(f"--set expects key=value, got {pair!r} (e.g. --set num_layers=2)")
        key, value = pair.split("=", 1)
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _known_values(name, task):
    """The values `name` builds with: the model classes' defaults, then the preset's."""
    import inspect

    import tfzoo
    from tfzoo.zoo import FAMILIES

    preset = tfzoo.get_config(name)
    family = FAMILIES[preset["family"]]
    classes = [family.backbone, family.tasks.get(task)]
    values = {}
    for cls in filter(None, classes):
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                values.setdefault(parameter.name, parameter.default)
    values.update(preset["config"])
    return values


def _check_override_types(name, overrides, known):
    """Each `--set` value must have the type of the model's own value (`hidden_dim=abc` fails).

    Keys whose default is `None` (e.g. `head_dim`) are checked by the model itself.
    """
    for key, value in overrides.items():
        default = known.get(key)
        if default is None:
            continue
        kind = type(default)
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True  # --set dropout=0 means 0.0
        if not ok:
            shown = json.dumps(default) if kind is not str else default
            raise UserError(
                f"--set {key}={_shown(value)}: {key} must be {_KINDS.get(kind, kind.__name__)} "
                f"({name} has {key}={shown}). Fix: e.g. --set {key}={shown}"
            )


def _shown(value):
    return value if isinstance(value, str) else json.dumps(value)


def run(args):
    import tfzoo

    overrides = parse_overrides(args.set)
    if args.num_classes is not None:
        overrides["num_classes"] = args.num_classes
    if args.output:
        check_keras_output(args.output, args.overwrite, "--output")
    try:
        _check_override_types(args.name, overrides, _known_values(args.name, args.task))
        model = tfzoo.build(args.name, task=args.task, **overrides)
    except (TypeError, ValueError, ArithmeticError) as e:
        if isinstance(e, UserError):
            raise
        # The model rejected a value (ValueError names it) or choked on it (TypeError,
        # ZeroDivisionError): either way one of the --set values is wrong.
        given = " ".join(f"--set {k}={_shown(v)}" for k, v in overrides.items())
        message = one_line(e)
        if given and "Fix" not in message:
            end = "" if message.endswith(".") else "."
            message = f"{message}{end} Fix: correct or drop {given}."
        raise UserError(message) from e
    print(f"{args.name} ({type(model).__name__}): {model.count_params():,} parameters")
    if args.output:
        save_keras(model, args.output, args.overwrite)
        print(f"saved {args.output}")
    return 0
