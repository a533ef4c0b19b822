"""Chat templates: Jinja templates that turn a list of messages into a model's prompt text.

Rendered the way Hugging Face `transformers` renders them (`apply_chat_template`): a sandboxed,
immutable Jinja environment with `trim_blocks` and `lstrip_blocks`, the `tojson` filter, and
the globals `raise_exception` and `strftime_now`. A template runs no Python outside the sandbox.
"""

import datetime
import functools
import json


def _raise_exception(message):
    import jinja2

    raise jinja2.exceptions.TemplateError(message)


def _tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # Jinja's own `tojson` escapes HTML characters, which would change the prompt text.
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _strftime_now(format):
    return datetime.datetime.now().strftime(format)


@functools.lru_cache(maxsize=16)
def compile_chat_template(template):
    """Compiles `template` in a sandboxed Jinja environment (cached per template string)."""
    try:
        import jinja2
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as e:
        raise ValueError(
            "Chat templates need the `jinja2` package. Install it with: `pip install jinja2`"
        ) from e
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    try:
        return env.from_string(template)
    except jinja2.exceptions.TemplateSyntaxError as e:
        raise ValueError(f"The chat template is not valid Jinja: {e}") from e


def render_chat_template(template, messages, add_generation_prompt=False, **variables):
    """Renders a chat template.

    Args:
        template: string. The Jinja template (`tokenizer.chat_template`).
        messages: list of dicts with `"role"` and `"content"` (one conversation).
        add_generation_prompt: bool. Append the tokens that open the assistant's turn.
        **variables: further template variables: special tokens (`bos_token`,
            `eos_token`, ...), `tools`, `documents`, ...

    Returns:
        The prompt text.

    Raises:
        ValueError: malformed messages, a template that is not valid Jinja or that raises.
    """
    import jinja2

    if not isinstance(messages, (list, tuple)) or not all(
        isinstance(m, dict) and "role" in m for m in messages
    ):
        raise ValueError(
            "`messages` must be a list of dicts with 'role' and 'content', e.g. "
            f"[{{'role': 'user', 'content': 'Hi'}}]. Received: {str(messages)[:80]}"
        )
    compiled = compile_chat_template(template)
    try:
        return compiled.render(
            messages=list(messages), add_generation_prompt=add_generation_prompt, **variables
        )
    except jinja2.exceptions.TemplateError as e:
        raise ValueError(f"The chat template failed on these messages: {e}") from e
