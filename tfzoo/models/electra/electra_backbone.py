import keras

from tfzoo.models.bert.bert_backbone import BertBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class ElectraBackbone(BertBackbone):
    """ELECTRA (Clark et al., 2020): BERT's encoder with embeddings of their own width
    (`embedding_dim`, projected to `hidden_dim` when they differ) and no pooler.

    Takes `tfzoo.models.BertBackbone`'s arguments with the default `use_pooler=False`. The same
    backbone serves the discriminator (`task="replaced_token_detection"`, classification, token
    classification, question answering) and the generator (`task="masked_lm"`).

    Example:

    >>> backbone = tfzoo.build("electra-small")
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        use_pooler=False,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            use_pooler=use_pooler,
            **kwargs,
        )
