from tfzoo.models.bert.bert_backbone import variant_backbone

RobertaBackbone = variant_backbone(
    "RobertaBackbone",
    "RoBERTa (Liu et al., 2019) and XLM-RoBERTa (Conneau et al., 2020): BERT's encoder with "
    "positions counted from the padding id + 1 (right-padded inputs), one segment and LayerNorm "
    "epsilon 1e-5; the classifier has its own head on the first token.",
    num_segments=1,
    layer_norm_epsilon=1e-5,
    position_offset=2,
)
