"""Reusable Keras 3 Transformer layers. Every layer is registered under the `tfzoo` package."""

from tfzoo.layers.activations import gelu, gelu_tanh, get_activation, relu, silu
from tfzoo.layers.alibi import AlibiBias, alibi_slopes
from tfzoo.layers.checks import runtime_checks
from tfzoo.layers.feed_forward import FeedForward
from tfzoo.layers.layer_norm import LayerNorm
from tfzoo.layers.local_attention import LocalMultiHeadAttention
from tfzoo.layers.multi_head_attention import MultiHeadAttention
from tfzoo.layers.patch_embedding import PatchEmbedding
from tfzoo.layers.position_embedding import PositionEmbedding
from tfzoo.layers.relative_position_bias import RelativePositionBias
from tfzoo.layers.reversible_embedding import ReversibleEmbedding
from tfzoo.layers.rms_norm import RMSNorm
from tfzoo.layers.rotary_embedding import RotaryEmbedding
from tfzoo.layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from tfzoo.layers.token_and_position_embedding import TokenAndPositionEmbedding
from tfzoo.layers.transformer_decoder import TransformerDecoder
from tfzoo.layers.transformer_encoder import TransformerEncoder

__all__ = [
    "AlibiBias",
    "FeedForward",
    "LayerNorm",
    "LocalMultiHeadAttention",
    "MultiHeadAttention",
    "PatchEmbedding",
    "PositionEmbedding",
    "RMSNorm",
    "RelativePositionBias",
    "ReversibleEmbedding",
    "RotaryEmbedding",
    "SinusoidalPositionEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoder",
    "TransformerEncoder",
    "alibi_slopes",
    "gelu",
    "gelu_tanh",
    "get_activation",
    "relu",
    "runtime_checks",
    "silu",
]
