from tfzoo.models.bert.bert_backbone import variant_backbone

DistilBertBackbone = variant_backbone(
    "DistilBertBackbone",
    "DistilBERT (Sanh et al., 2019): BERT's encoder without segment embeddings or pooler "
    "(outputs hold `sequence_output` only; segment ids are accepted and ignored).",
    num_segments=0,
    use_pooler=False,
)
