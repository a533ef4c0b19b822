import keras
from keras import ops

from tfzoo.layers import checks
from tfzoo.layers._arguments import ArgumentsConfig


@keras.saving.register_keras_serializable(package="tfzoo")
class PositionEmbedding(ArgumentsConfig, keras.layers.Layer):
    """Learned absolute position embeddings (BERT, GPT-2).

    Returns the embeddings of positions `start_index ... start_index + seq - 1`, shaped like the
    input, to be added to token embeddings. The position logic lives in the layer so that it works
    on symbolic inputs of a functional model.

    Args:
        sequence_length: int. Size of the position table (`max_sequence_length`).
        initializer: initializer for the table. Defaults to `"glorot_uniform"`.

    Call arguments:
        inputs: tensor `(batch, seq, hidden)`; only its shape is used.
        start_index: int or scalar int tensor. Position of the first element (for cached
            decoding). Defaults to `0`.

    Example:

    >>> pos = tfzoo.layers.PositionEmbedding(sequence_length=128)
    >>> p = pos(np.zeros((2, 10, 16), "float32"))    # (2, 10, 16)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if sequence_length is None or int(sequence_length) <= 0:
            raise ValueError(
                f"`sequence_length` must be a positive int. Received: sequence_length={sequence_length}"
            )
        sequence_length = int(sequence_length)
        self._keep_arguments(locals())

    def build(self, inputs_shape):
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs, start_index=0):
        seq_len = inputs.shape[1]
        checks.check_sequence_length(seq_len, self.sequence_length, start_index)
        if seq_len is None:
            seq_len = ops.shape(inputs)[1]
        table = ops.convert_to_tensor(self.position_embeddings)
        # (seq, hidden): rows start_index .. start_index + seq - 1
        positions = ops.slice(table, (start_index, 0), (seq_len, ops.shape(table)[1]))
        positions = ops.cast(positions, self.compute_dtype)
        return ops.broadcast_to(positions[None], ops.shape(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape
