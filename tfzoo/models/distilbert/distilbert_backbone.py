import keras

from tfzoo.models.bert.bert_backbone import BertBackbone


@keras.saving.register_keras_serializable(package="tfzoo")
class DistilBertBackbone(BertBackbone):
    """DistilBERT (Sanh et al., 2019): BERT's encoder without segment embeddings or pooler.

    Takes `tfzoo.models.BertBackbone`'s arguments with the defaults `num_segments=0` and
    `use_pooler=False`; its outputs hold `sequence_output` only (the classifier has its own head on
    the first token). Segment ids are accepted and ignored, so BERT pipelines feed it unchanged.

    Example:

    >>> backbone = tfzoo.build("distilbert-base")
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        num_segments=0,
        use_pooler=False,
        **kwargs,
    ):
        super().__init__(
            vocabulary_size,
            num_layers,
            num_heads,
            hidden_dim,
            intermediate_dim,
            num_segments=num_segments,
            use_pooler=use_pooler,
            **kwargs,
        )
