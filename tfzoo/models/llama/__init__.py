from tfzoo.models.llama.llama_backbone import LlamaBackbone

__all__ = ["LlamaBackbone"]
