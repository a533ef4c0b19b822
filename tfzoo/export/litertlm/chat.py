"""Chatting with a `.litertlm` bundle in LiteRT-LM (`tfzoo chat out/model.litertlm`).

LiteRT-LM 0.18.1 cannot render Hugging Face chat templates such as SmolLM2's (its conversation
API passes message contents as lists: "tried to use + operator on unsupported types string and
sequence"), so tfzoo renders the template the bundle carries (`jinja_prompt_template` of its
`LlmMetadata`) with its own renderer (`tfzoo.text.chat_template`) and feeds the text to a raw
session (`apply_prompt_template=False`). Each answer runs in a new session on the whole
rendered conversation; the engine (the loaded model) is kept between turns.
"""

from tfzoo.export.litertlm import reader

INSTALL = "pip install 'tfzoo[litertlm]'"


def require_runtime(what="Running a .litertlm bundle"):
    """`litert_lm`, or a one-line ImportError naming the extra."""
    try:
        import litert_lm
    except ImportError:
        raise ImportError(
            f"{what} needs LiteRT-LM (the `litert_lm` module of litert-lm-api). Fix: {INSTALL}"
        ) from None
    return litert_lm


def sampler_config(
    litert_lm, sampler="greedy", temperature=None, top_k=None, top_p=None, seed=None
):
    """LiteRT-LM's `SamplerConfig` for tfzoo's sampler options (`generate`'s names)."""
    if sampler == "greedy":
        return litert_lm.SamplerConfig(top_k=1, temperature=0.0, seed=seed)
    temperature = 1.0 if temperature is None else float(temperature)
    if sampler == "top_k":
        return litert_lm.SamplerConfig(top_k=int(top_k), temperature=temperature, seed=seed)
    if sampler == "top_p":
        return litert_lm.SamplerConfig(top_p=float(top_p), temperature=temperature, seed=seed)
    return litert_lm.SamplerConfig(top_p=1.0, temperature=temperature, seed=seed)


class BundleChat:
    """A loaded bundle that answers conversations (lists of `{"role", "content"}` messages).

    Args:
        path: str. The `.litertlm` file.
        threads: int. CPU threads of LiteRT-LM.

    Raises:
        ImportError: `litert_lm` is not installed (the message names the extra).
        ValueError: not a bundle, or a bundle without a chat template.
    """

    def __init__(self, path, threads=2):
        litert_lm = require_runtime("tfzoo chat on a .litertlm bundle")
        metadata = reader.llm_metadata(path)
        if not metadata.jinja_prompt_template:
            raise ValueError(
                f"{path} has no chat template, so a conversation cannot be formatted. Fix: "
                "export a chat checkpoint with its tokenizer (tfzoo.export(..., "
                "tokenizer=tfzoo.tokenizer_from_pretrained(checkpoint)))."
            )
        self.path = path
        self.template = metadata.jinja_prompt_template
        self.max_tokens = int(metadata.max_num_tokens)
        self.has_start = metadata.HasField("start_token")
        self._litert_lm = litert_lm
        litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
        self.engine = litert_lm.Engine(
            path,
            backend=litert_lm.Backend.CPU(thread_count=threads),
            activation_data_type=litert_lm.ActivationDataType.FLOAT32,
        )

    def prompt(self, messages):
        """The conversation rendered by the bundle's chat template, ready for the answer."""
        from tfzoo.text.chat_template import render_chat_template

        return render_chat_template(self.template, messages, add_generation_prompt=True)

    def count_tokens(self, messages):
        """Tokens of the rendered conversation in the runtime (start token included)."""
        return len(self.engine.tokenize(self.prompt(messages))) + int(self.has_start)

    def stream(self, messages, max_new_tokens, **sampling):
        """Yields the answer's text in pieces as LiteRT-LM decodes it (`sampling`: see
        `sampler_config`)."""
        session = self.engine.create_session(
            apply_prompt_template=False,
            sampler_config=sampler_config(self._litert_lm, **sampling),
            max_output_tokens=max_new_tokens,
        )
        try:
            session.run_prefill([self.prompt(messages)])
            for response in session.run_decode_async():
                if response.texts and response.texts[0]:
                    yield response.texts[0]
        finally:
            session.close()

    def close(self):
        self.engine.close()
