import keras
from keras import ops

from tfzoo.layers._arguments import ArgumentsConfig


def _check_multiple(size, patch_size, axis_name):
    if isinstance(size, int) and size % patch_size:
        raise ValueError(
            f"The image {axis_name} ({size}) must be a multiple of the patch size ({patch_size}). "
            f"Resize or crop the images to a multiple of {patch_size} (e.g. "
            f"{max(patch_size, size // patch_size * patch_size)}), or pick a patch size that "
            f"divides {size}."
        )


def _linear_resize(table, new_length, axis):
    """Resizes `table` along `axis` to `new_length` by linear interpolation (half-pixel centres).

    Pure `keras.ops` and valid for a dynamic `new_length`; resizing to the same length returns
    the table unchanged (every sample point falls on a source point).
    """
    old_length = ops.shape(table)[axis]
    scale = ops.cast(old_length, "float32") / ops.cast(new_length, "float32")
    coords = (ops.cast(ops.arange(new_length), "float32") + 0.5) * scale - 0.5
    coords = ops.clip(coords, 0.0, ops.cast(old_length - 1, "float32"))  # (new,)
    low = ops.cast(ops.floor(coords), "int32")
    high = ops.minimum(low + 1, old_length - 1)
    weight = coords - ops.cast(low, "float32")
    shape = [1] * len(table.shape)
    shape[axis] = -1
    weight = ops.reshape(weight, shape)  # broadcast along `axis`
    low_rows = ops.take(table, low, axis=axis)
    high_rows = ops.take(table, high, axis=axis)
    return low_rows * (1.0 - weight) + high_rows * weight


@keras.saving.register_keras_serializable(package="tfzoo")
class PatchEmbedding(ArgumentsConfig, keras.layers.Layer):
    """Image patches to tokens: the input layer of a Vision Transformer (Dosovitskiy et al., 2021).

    The image is cut into non-overlapping `patch_size x patch_size` patches, each projected
    linearly to `hidden_dim` (a `Conv2D` with kernel = stride = patch size, which is the same
    map as flattening each patch and applying a dense layer). A learned class token is prepended
    and learned position embeddings are added.

    The position table covers a `image_size x image_size` grid. Images of another size (still a
    multiple of `patch_size` on each side) get the table linearly interpolated to their grid,
    the way ViT is fine-tuned at a higher resolution; at `image_size` the table is used as is.

    Args:
        hidden_dim: int. Width of each token.
        patch_size: int. Side of a square patch in pixels.
        image_size: int. Side of the square images the position table is made for.
        num_channels: int. Channels of the images. Defaults to `3`.
        use_class_token: bool. Prepend a learned class token. Defaults to `True`.
        kernel_initializer: initializer of the patch projection.
        embeddings_initializer: initializer of the class token and the position table.

    Call arguments:
        images: float tensor `(batch, height, width, num_channels)`; `height` and `width` must
            be multiples of `patch_size`.

    Returns:
        `(batch, 1 + (height // patch_size) * (width // patch_size), hidden_dim)` (no `1 +`
        without the class token), patches in row-major order.

    Example:

    >>> emb = tfzoo.layers.PatchEmbedding(hidden_dim=32, patch_size=8, image_size=32)
    >>> tokens = emb(np.zeros((2, 32, 32, 3), "float32"))   # (2, 17, 32)
    """

    def __init__(
        self,
        hidden_dim,
        patch_size,
        image_size,
        num_channels=3,
        use_class_token=True,
        kernel_initializer="glorot_uniform",
        embeddings_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._keep_arguments(locals())
        for name, value in (
            ("hidden_dim", hidden_dim),
            ("patch_size", patch_size),
            ("image_size", image_size),
            ("num_channels", num_channels),
        ):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
        _check_multiple(image_size, patch_size, "size")
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02)
        )
        self.grid_size = image_size // patch_size

    @property
    def num_positions(self):
        return self.grid_size**2 + int(self.use_class_token)

    def build(self, images_shape):
        if images_shape[-1] is not None and images_shape[-1] != self.num_channels:
            raise ValueError(
                f"PatchEmbedding was configured for num_channels={self.num_channels} but the "
                f"images have {images_shape[-1]} channels. Pass images (batch, height, width, "
                f"{self.num_channels}) or set num_channels={images_shape[-1]}."
            )
        self.patch_projection = keras.layers.Conv2D(
            self.hidden_dim,
            kernel_size=self.patch_size,
            strides=self.patch_size,
            padding="valid",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="patch_projection",
        )
        self.patch_projection.build((None, None, None, self.num_channels))
        if self.use_class_token:
            self.class_token = self.add_weight(
                name="class_token",
                shape=(1, 1, self.hidden_dim),
                initializer=self.embeddings_initializer,
            )
        self.position_embeddings = self.add_weight(
            name="position_embeddings",
            shape=(self.num_positions, self.hidden_dim),
            initializer=self.embeddings_initializer,
        )

    def _positions(self, grid_h, grid_w):
        """Position table `(1, tokens, hidden)` for a `grid_h x grid_w` patch grid."""
        table = ops.cast(ops.convert_to_tensor(self.position_embeddings), self.compute_dtype)
        n = self.grid_size
        if self.use_class_token:
            cls_pos, patch_pos = table[:1], table[1:]
        else:
            cls_pos, patch_pos = None, table
        same_grid = isinstance(grid_h, int) and isinstance(grid_w, int) and grid_h == grid_w == n
        if not same_grid:
            grid = ops.reshape(patch_pos, (n, n, self.hidden_dim))  # (rows, cols, hidden)
            grid = _linear_resize(grid, grid_h, axis=0)  # (grid_h, n, hidden)
            grid = _linear_resize(grid, grid_w, axis=1)  # (grid_h, grid_w, hidden)
            patch_pos = ops.reshape(grid, (-1, self.hidden_dim))
        if cls_pos is not None:
            patch_pos = ops.concatenate([cls_pos, patch_pos], axis=0)
        return ops.expand_dims(patch_pos, 0)

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        _check_multiple(height, self.patch_size, "height")
        _check_multiple(width, self.patch_size, "width")
        x = self.patch_projection(images)  # (B, H/p, W/p, D)
        grid_h = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        grid_w = x.shape[2] if x.shape[2] is not None else ops.shape(x)[2]
        batch = ops.shape(x)[0]
        x = ops.reshape(x, (batch, -1, self.hidden_dim))  # (B, patches, D), row-major
        if self.use_class_token:
            token = ops.cast(ops.convert_to_tensor(self.class_token), x.dtype)
            token = ops.broadcast_to(token, (batch, 1, self.hidden_dim))  # (B, 1, D)
            x = ops.concatenate([token, x], axis=1)  # (B, 1 + patches, D)
        return x + ops.cast(self._positions(grid_h, grid_w), x.dtype)

    def compute_output_shape(self, images_shape):
        height, width = images_shape[1], images_shape[2]
        tokens = None
        if height is not None and width is not None:
            tokens = (height // self.patch_size) * (width // self.patch_size)
            tokens += int(self.use_class_token)
        return (images_shape[0], tokens, self.hidden_dim)
