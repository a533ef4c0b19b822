"""ViT presets (Dosovitskiy et al., 2021; ViT-Ti and ViT-S from Touvron et al., 2021, DeiT).

All are patch 16 at 224x224 (196 patches + a class token). `published_parameters` is the
parameter count of the classifier with 1000 classes: ViT-B/16 has 86,567,656 (the figure usually
quoted as "86M"). The papers give ViT-Ti/16 and ViT-S/16 only rounded ("5M", "22M"), so those
presets carry `None`; `vit_parameter_count` gives 5,717,416 and 22,050,664 for them.
"""

_VIT = dict(image_size=224, patch_size=16, num_channels=3)

VIT_PRESETS = {
    "vit-tiny": dict(
        config=dict(_VIT, num_layers=12, num_heads=3, hidden_dim=192, intermediate_dim=768),
        description="ViT-Ti/16 (DeiT-Tiny shape): D192, L12, H3, MLP 768, 224x224",
        published_parameters=None,
    ),
    "vit-small": dict(
        config=dict(_VIT, num_layers=12, num_heads=6, hidden_dim=384, intermediate_dim=1536),
        description="ViT-S/16: D384, L12, H6, MLP 1536, 224x224",
        published_parameters=None,
    ),
    "vit-base": dict(
        config=dict(_VIT, num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072),
        description="ViT-B/16 (Dosovitskiy et al. 2021): D768, L12, H12, MLP 3072, 224x224",
        published_parameters=86_567_656,
    ),
}


def vit_parameter_count(
    num_layers,
    hidden_dim,
    intermediate_dim,
    image_size=224,
    patch_size=16,
    num_channels=3,
    num_classes=None,
    **_,
):
    """Parameters of a ViT (and its classifier head when `num_classes` is given), by formula.

    Example:

    >>> tfzoo.models.vit.vit_parameter_count(12, 768, 3072, num_classes=1000)
    86567656
    """
    d, patches = hidden_dim, (image_size // patch_size) ** 2
    embeddings = patch_size * patch_size * num_channels * d + d + d + (patches + 1) * d
    block = (
        4 * (d * d + d)
        + 2 * 2 * d
        + (d * intermediate_dim + intermediate_dim)
        + (intermediate_dim * d + d)
    )
    total = embeddings + num_layers * block + 2 * d
    if num_classes:
        total += d * num_classes + num_classes
    return total
