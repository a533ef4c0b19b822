from tfzoo.models.bert.bert_backbone import variant_backbone

ElectraBackbone = variant_backbone(
    "ElectraBackbone",
    "ELECTRA (Clark et al., 2020): BERT's encoder with embeddings of their own width "
    "(`embedding_dim`, projected when it differs) and no pooler; the discriminator is "
    "`task='replaced_token_detection'`, the generator `task='masked_lm'`.",
    use_pooler=False,
)
