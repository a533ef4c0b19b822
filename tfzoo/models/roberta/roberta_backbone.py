import keras

from tfzoo.models.bert.bert_backbone import BertBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class RobertaBackbone(BertBackbone):
    """RoBERTa (Liu et al., 2019) and XLM-RoBERTa (Conneau et al., 2020): BERT's encoder with
    positions counted from the padding id + 1, one segment and LayerNorm epsilon 1e-5.

    Takes `tfzoo.models.BertBackbone`'s arguments; the defaults differ: `position_offset=2`
    (Hugging Face numbers the first real token `pad_token_id + 1`), `num_segments=1`,
    `layer_norm_epsilon=1e-5`. Inputs are right-padded (the position of a token is its index
    plus the offset, as Hugging Face computes for right-padded batches). The pooler exists for
    `RobertaModel` checkpoints; the classifier uses its own head on the first token.

    Example:

    >>> backbone = tfzoo.build("roberta-base")
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        num_segments=1,
        layer_norm_epsilon=1e-5,
        position_offset=2,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            num_segments=num_segments,
            layer_norm_epsilon=layer_norm_epsilon,
            position_offset=position_offset,
            **kwargs,
        )
