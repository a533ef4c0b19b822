from tfzoo.models.gpt.gpt_backbone import GPTBackbone

__all__ = ["GPTBackbone"]
