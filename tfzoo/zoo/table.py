"""The zoo table in Markdown, generated from the registry (`docs/zoo.md` is its output)."""

from tfzoo.zoo.families import FAMILIES, PRESETS


def zoo_markdown():
    """Returns `docs/zoo.md`: one row per zoo name with its shape and parameter count."""
    lines = [
        "# The zoo",
        "",
        "Generated from `tfzoo.list_models()` by `python -m tfzoo.zoo.table > docs/zoo.md`; a test",
        "keeps this page equal to the registry. Parameter counts are those of the backbone (plus the",
        "untied LM head for Llama-style models) and are asserted against the published numbers and",
        "against Hugging Face models of the same shape.",
        "",
        "| name | family | layers | hidden | heads | kv heads | FFN | max length | vocabulary | parameters | tasks |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, preset in PRESETS.items():
        c = preset["config"]
        params = preset.get("published_parameters")
        tasks = ", ".join(sorted(FAMILIES[preset["family"]].tasks))
        lines.append(
            f"| `{name}` | {preset['family']} | {c.get('num_layers', '-')} | {c.get('hidden_dim', '-')} "
            f"| {c.get('num_heads', '-')} | {c.get('num_key_value_heads', c.get('num_heads', '-'))} "
            f"| {c.get('intermediate_dim', '-')} | {c.get('max_sequence_length', '-')} "
            f"| {c.get('vocabulary_size', '-')} | {f'{params:,}' if params else '-'} | {tasks} |"
        )
    lines += ["", "Descriptions:", ""]
    lines += [f"- `{name}`: {preset['description']}" for name, preset in PRESETS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(zoo_markdown(), end="")
