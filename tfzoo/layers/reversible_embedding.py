import keras
from keras import ops

from tfzoo.layers import checks
from tfzoo.layers._block_config import clone_initializer


@keras.saving.register_keras_serializable(package="tfzoo")
class ReversibleEmbedding(keras.layers.Embedding):
    """A token embedding that can also project hidden states back onto the vocabulary.

    `layer(token_ids)` looks up embeddings; `layer(hidden, reverse=True)` multiplies by the
    transposed table, giving vocabulary logits with weights tied to the input embedding (the LM
    heads of BERT and GPT-2). Token ids are checked: a float dtype or an id outside
    `[0, input_dim)` raises a `ValueError` (see `tfzoo.layers.checks`).

    Args:
        input_dim: int. Vocabulary size.
        output_dim: int. Embedding width.
        tie_weights: bool. Whether `reverse=True` uses the same table. If `False`, a separate
            `(output_dim, input_dim)` kernel is created for the reverse projection. Defaults to `True`.
        **kwargs: passed to `keras.layers.Embedding`.

    Call arguments:
        inputs: int tensor `(batch, seq)` of token ids, or with `reverse=True` a float tensor
            `(batch, seq, output_dim)`.
        reverse: bool. Project back to the vocabulary. Defaults to `False`.

    Example:

    >>> emb = tfzoo.layers.ReversibleEmbedding(100, 16)
    >>> h = emb(np.array([[1, 2, 3]]))          # (1, 3, 16)
    >>> logits = emb(h, reverse=True)           # (1, 3, 100)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self.tie_weights = tie_weights

    def build(self, inputs_shape=None):
        super().build(inputs_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings",
                shape=(self.output_dim, self.input_dim),
                initializer=clone_initializer(self.embeddings_initializer),
            )

    def call(self, inputs, reverse=False):
        if reverse:
            if self.tie_weights:
                kernel = ops.transpose(ops.convert_to_tensor(self.embeddings))
            else:
                kernel = self.reverse_embeddings
            return ops.matmul(inputs, ops.cast(kernel, self.compute_dtype))
        inputs = checks.check_token_ids(inputs, self.input_dim)
        return super().call(inputs)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built and not self.tie_weights:
            # Keras' Embedding serialises only its table; the untied head goes after it.
            store[str(len(store.keys()))] = self.reverse_embeddings.numpy()

    def load_own_variables(self, store):
        if self.tie_weights or not self.built:
            return super().load_own_variables(store)
        keys = sorted(store.keys(), key=int)
        if self.quantization_mode is not None or len(keys) != 2:
            raise ValueError(
                f"Cannot load {self.name}: expected an embedding table and an untied head "
                f"(2 arrays), found {len(keys)}."
            )
        self._embeddings.assign(store[keys[0]])
        self.reverse_embeddings.assign(store[keys[1]])

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*input_shape[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def compute_output_spec(self, inputs, reverse=False):
        shape = self.compute_output_shape(inputs.shape, reverse=reverse)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update({"tie_weights": self.tie_weights})
        return config
