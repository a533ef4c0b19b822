"""`tfzoo models`: list the zoo's models."""

import json

from tfzoo.cli.common import add_command


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "models",
        "list the zoo's models",
        ["tfzoo models", "tfzoo models --family bert --json"],
    )
    p.add_argument("--family", help="only this family (bert, gpt, llama, ...)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args):
    import tfzoo

    rows = []
    for name in tfzoo.list_models(args.family):
        preset = tfzoo.get_config(name)
        cfg = preset["config"]
        rows.append(
            {
                "name": name,
                "family": preset["family"],
                "layers": cfg.get("num_layers"),
                "hidden": cfg.get("hidden_dim"),
                "heads": cfg.get("num_heads"),
                "parameters": preset.get("published_parameters"),
                "tasks": ",".join(preset["tasks"]),
                "description": preset["description"],
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tfzoo models")
    numbers = ("layers", "hidden", "heads", "parameters")
    for col in ("name", "family", *numbers, "tasks"):
        table.add_column(col, justify="right" if col in numbers else "left")
    for r in rows:
        params = f"{r['parameters']:,}" if r["parameters"] else "-"
        table.add_row(
            r["name"],
            r["family"],
            str(r["layers"]),
            str(r["hidden"]),
            str(r["heads"]),
            params,
            r["tasks"],
        )
    Console().print(table)
    return 0
