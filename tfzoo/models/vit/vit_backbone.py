import keras

from tfzoo.layers import LayerNorm, TransformerEncoder, checks
from tfzoo.layers.patch_embedding import PatchEmbedding
from tfzoo.models.backbone import BLOCK_ARGUMENTS, Backbone, pick, stack_blocks

# The sizes a ViT checks: of the Transformer, and of the images.
SIZE_NAMES = "num_layers num_heads hidden_dim intermediate_dim"
IMAGE_SIZE_NAMES = "image_size patch_size num_channels"


@keras.saving.register_keras_serializable(package="tfzoo")
class ViTBackbone(Backbone):
    """Vision Transformer encoder (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words").

    Patches (`tfzoo.layers.PatchEmbedding`: patch projection, class token, learned positions),
    pre-LN Transformer encoder blocks with exact GELU, and a final layer norm.

    Args:
        image_size: int. Side of the square training images; sets the position table.
            Defaults to `224`.
        patch_size: int. Side of a patch; must divide `image_size`. Defaults to `16`.
        num_channels: int. Image channels. Defaults to `3`.
        num_layers: int. Number of encoder blocks.
        num_heads: int. Attention heads; must divide `hidden_dim`.
        hidden_dim: int. Token width.
        intermediate_dim: int. Width of the MLP's hidden layer.
        dropout: float. Dropout after the embeddings, attention and MLP. Defaults to `0.0`.
        attention_dropout: float. Dropout on attention probabilities. Defaults to `0.0`.
        layer_norm_epsilon: float. Defaults to `1e-6`.
        activation: string. MLP activation. Defaults to `"gelu"` (exact, via `erf`).
        dtype: string or `keras.DTypePolicy`.

    Inputs: a dict with `images` (or the images tensor itself), float32 `(batch, height, width, num_channels)`, pixel values
    already normalised (e.g. to `[-1, 1]`). Height and width must be multiples of `patch_size`;
    sizes other than `image_size` interpolate the position table.

    Outputs: a dict with `sequence_output` `(batch, 1 + patches, hidden_dim)` and
    `pooled_output` `(batch, hidden_dim)` (the class token after the final norm).

    Example:

    >>> backbone = tfzoo.build("vit-tiny", image_size=32, patch_size=8, num_layers=2)
    >>> out = backbone({"images": np.zeros((1, 32, 32, 3), "float32")})
    >>> out["sequence_output"].shape
    TensorShape([1, 17, 192])
    """

    input_names = ("images",)

    def __init__(
        self,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        image_size=224,
        patch_size=16,
        num_channels=3,
        dropout=0.0,
        attention_dropout=0.0,
        layer_norm_epsilon=1e-6,
        activation="gelu",
        dtype=None,
        **kwargs,
    ):
        checks.check_positive_ints(**pick(locals(), f"{SIZE_NAMES} {IMAGE_SIZE_NAMES}"))
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} must be a multiple of num_heads={num_heads}. Pick a "
                f"hidden_dim that num_heads divides (ViT uses head width 64)."
            )
        initializer = keras.initializers.TruncatedNormal(stddev=0.02)

        # === Layers ===
        self.embeddings = PatchEmbedding(
            hidden_dim,
            patch_size,
            image_size,
            num_channels=num_channels,
            kernel_initializer=initializer,
            dtype=dtype,
            name="embeddings",
        )
        self.embeddings_dropout = keras.layers.Dropout(
            dropout, dtype=dtype, name="embeddings_dropout"
        )
        self.transformer_layers = stack_blocks(
            TransformerEncoder,
            num_layers,
            dtype,
            normalize_first=True,
            kernel_initializer=initializer,
            **pick(locals(), BLOCK_ARGUMENTS),
        )
        self.layer_norm = LayerNorm(layer_norm_epsilon, dtype=dtype, name="layer_norm")

        # === Functional Model ===
        # Height and width stay dynamic: other multiples of the patch size are accepted.
        images = keras.Input(shape=(None, None, num_channels), dtype="float32", name="images")
        x = self.embeddings_dropout(self.embeddings(images))  # (B, 1 + patches, D)
        for layer in self.transformer_layers:
            x = layer(x)
        x = self.layer_norm(x)
        pooled = x[:, 0, :]  # the class token, (B, D)
        outputs = {"sequence_output": x, "pooled_output": pooled}
        self._build_graph({"images": images}, outputs, dtype, kwargs)

        # === Config ===
        self._keep_arguments(locals())

    @property
    def token_embedding(self):
        raise AttributeError("A ViT has no token embedding; its input layer is `embeddings`.")

    def call(self, inputs, training=None, mask=None):
        return super().call(_as_dict(inputs), training=training, mask=mask)

    def _check_inputs(self, inputs):
        """Raises a `ValueError` on bad inputs; returns them as a dict."""
        inputs = _as_dict(inputs)
        if not isinstance(inputs, dict) or set(inputs) != {"images"}:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise ValueError(
                f"ViTBackbone takes a dict {{'images': float32 (batch, height, width, "
                f"{self.num_channels})}}; received {got}."
            )
        images = inputs["images"]
        shape = tuple(images.shape)
        if len(shape) != 4:
            raise ValueError(
                f"`images` must have rank 4 (batch, height, width, channels); received shape "
                f"{shape}. Add a batch axis for a single image (`images[None]`)."
            )
        dtype = keras.backend.standardize_dtype(images.dtype)
        if "float" not in dtype:
            raise ValueError(
                f"`images` must be float pixels (normalised, e.g. to [-1, 1]); received dtype "
                f"{dtype}. Convert with `images.astype('float32') / 127.5 - 1`."
            )
        if shape[-1] is not None and shape[-1] != self.num_channels:
            raise ValueError(
                f"The model expects {self.num_channels} channels; `images` has {shape[-1]} "
                f"(shape {shape})."
            )
        if shape[0] == 0:
            raise ValueError(
                f"`images` holds an empty batch (shape {shape}). Pass at least one image."
            )
        for axis, size in (("height", shape[1]), ("width", shape[2])):
            if size == 0 or (size is not None and size % self.patch_size):
                raise ValueError(
                    f"The image {axis} ({size}) must be a positive multiple of the patch size "
                    f"({self.patch_size}). Resize or crop the images to a multiple of "
                    f"{self.patch_size}."
                )
        return inputs


def _as_dict(inputs):
    """A bare image tensor (e.g. `model.fit(images, labels)`) is the `images` input."""
    if isinstance(inputs, dict) or isinstance(inputs, (list, tuple)):
        return inputs
    return {"images": inputs}
