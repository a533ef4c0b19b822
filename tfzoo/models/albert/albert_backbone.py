from tfzoo.models.bert.bert_backbone import variant_backbone

AlbertBackbone = variant_backbone(
    "AlbertBackbone",
    "ALBERT (Lan et al., 2020): factorized embeddings, always projected to `hidden_dim`, and "
    "one encoder block shared by all `num_layers` layers.",
    embedding_dim=128,
    project_embeddings=True,
    share_layers=True,
    activation="gelu_tanh",
)
