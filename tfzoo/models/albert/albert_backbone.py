import keras

from tfzoo.models.bert.bert_backbone import BertBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class AlbertBackbone(BertBackbone):
    """ALBERT (Lan et al., 2020): factorized embeddings (`embedding_dim`, always projected to
    `hidden_dim`) and one encoder block shared by all `num_layers` layers.

    Takes `tfzoo.models.BertBackbone`'s arguments with the defaults `embedding_dim=128`,
    `project_embeddings=True`, `share_layers=True` and `activation="gelu_tanh"` (Hugging
    Face's `gelu_new`).

    Example:

    >>> backbone = tfzoo.build("albert-base")
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        embedding_dim=128,
        project_embeddings=True,
        share_layers=True,
        activation="gelu_tanh",
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            embedding_dim=embedding_dim,
            project_embeddings=project_embeddings,
            share_layers=share_layers,
            activation=activation,
            **kwargs,
        )
