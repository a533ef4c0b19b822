"""Hugging Face Mistral (`MistralModel`, `MistralForCausalLM`) <-> `tfzoo.models.MistralBackbone`:
Llama's tensor names; `sliding_window` (or `null`) applies to every layer."""

from tfzoo.models import decoder_hf

CONVERTER = decoder_hf.converter(
    "mistral", "Mistral", options=lambda config: {"sliding_window": config.get("sliding_window")}
)
