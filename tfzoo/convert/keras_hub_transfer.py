"""Weights between keras-hub backbones and tfzoo backbones, both directions.

keras-hub's `BertBackbone` and `GPT2Backbone` hold the same tensors as tfzoo's in the same
layouts (EinsumDense kernels `(hidden, heads, head_dim)`, dense kernels `(in, out)`), under other
names. The table is written against keras-hub's variable paths, read from the installed
package: `transformer_layer_{i}/self_attention_layer/query/kernel` (BERT),
`transformer_layer_{i}/self_attention/query/kernel` (GPT-2), and so on.

keras-hub hard-codes what tfzoo makes configurable: BERT and GPT-2 both use the tanh GELU
(`gelu_approximate`), BERT a norm epsilon of 1e-12 and GPT-2 of 1e-5, and no dropout on
attention probabilities apart from `dropout`. A tfzoo model that differs cannot become an exact
keras-hub model: `to_keras_hub` refuses it unless `strict=False`.
"""

import warnings

import numpy as np

from tfzoo.convert.checkpoint_io import check_weights
from tfzoo.models import BertBackbone, GPTBackbone
from tfzoo.models.backbone import SIZE_ARGUMENTS

_BERT_EPSILON = 1e-12
_GPT2_EPSILON = 1e-5


def _pairs(zoo, kind):
    """(tfzoo variable, keras-hub path) pairs of a BERT (`kind="bert"`) or GPT-2 backbone."""
    emb = zoo.embeddings
    pairs = [
        (emb.token_embedding.embeddings, "token_embedding/embeddings"),
        (emb.position_embedding.position_embeddings, "position_embedding/embeddings"),
    ]
    attention_name = "self_attention_layer" if kind == "bert" else "self_attention"
    for i, layer in enumerate(zoo.transformer_layers):
        pairs += _block_pairs(layer, f"transformer_layer_{i}/", attention_name)
    if kind == "bert":
        pairs += [
            (emb.segment_embedding.embeddings, "segment_embedding/embeddings"),
            (zoo.embeddings_norm.gamma, "embeddings_layer_norm/gamma"),
            (zoo.embeddings_norm.beta, "embeddings_layer_norm/beta"),
            (zoo.pooler.kernel, "pooled_dense/kernel"),
            (zoo.pooler.bias, "pooled_dense/bias"),
        ]
    else:
        pairs += [
            (zoo.layer_norm.gamma, "layer_norm/gamma"),
            (zoo.layer_norm.beta, "layer_norm/beta"),
        ]
    return pairs


def _shape_arguments(backbone, dtype):
    """The arguments tfzoo and keras-hub BERT/GPT-2 backbones share (same names), from `backbone`."""
    arguments = {name: getattr(backbone, name) for name in (*SIZE_ARGUMENTS, "dropout")}
    return dict(arguments, dtype=dtype if dtype is not None else backbone.dtype_policy)


def _block_pairs(layer, n, attention_name):
    att, ffn = layer.self_attention, layer.feed_forward
    pairs = []
    for zoo_dense, hub in (
        (att.query_dense, "query"),
        (att.key_dense, "key"),
        (att.value_dense, "value"),
        (att.output_dense, "attention_output"),
    ):
        pairs += [
            (zoo_dense.kernel, f"{n}{attention_name}/{hub}/kernel"),
            (zoo_dense.bias, f"{n}{attention_name}/{hub}/bias"),
        ]
    pairs += [
        (layer.self_attention_norm.gamma, f"{n}self_attention_layer_norm/gamma"),
        (layer.self_attention_norm.beta, f"{n}self_attention_layer_norm/beta"),
        (ffn.intermediate_dense.kernel, f"{n}feedforward_intermediate_dense/kernel"),
        (ffn.intermediate_dense.bias, f"{n}feedforward_intermediate_dense/bias"),
        (ffn.output_dense.kernel, f"{n}feedforward_output_dense/kernel"),
        (ffn.output_dense.bias, f"{n}feedforward_output_dense/bias"),
        (layer.feed_forward_norm.gamma, f"{n}feedforward_layer_norm/gamma"),
        (layer.feed_forward_norm.beta, f"{n}feedforward_layer_norm/beta"),
    ]
    return pairs


def _transfer(pairs, hub, to_zoo):
    # Variable paths are set when the backbone creates its layers, relative to the backbone.
    by_path = {variable.path: variable for variable in hub.weights}
    missing = [p for _, p in pairs if p not in by_path]
    if missing:
        raise ValueError(
            f"The keras-hub {type(hub).__name__} lacks the variables {missing[:5]}; this tfzoo "
            f"version maps keras-hub 0.32's layout. Check the installed keras-hub version."
        )
    for zoo_var, path in pairs:
        hub_var = by_path[path]
        if tuple(zoo_var.shape) != tuple(hub_var.shape):
            raise ValueError(
                f"Shape mismatch for {path!r}: keras-hub {tuple(hub_var.shape)}, tfzoo "
                f"{tuple(zoo_var.shape)}."
            )
        src, dst = (hub_var, zoo_var) if to_zoo else (zoo_var, hub_var)
        value = np.asarray(src.numpy(), dtype=np.float32)
        if to_zoo:  # the keras-hub weights came from files: refuse damaged ones by name
            check_weights(value, path, f"the keras-hub {type(hub).__name__}")
        dst.assign(value)


def _kind(hub):
    import keras_hub

    if isinstance(hub, keras_hub.models.BertBackbone):
        return "bert"
    if isinstance(hub, keras_hub.models.GPT2Backbone):
        return "gpt2"
    raise ValueError(
        f"from_keras_hub converts keras_hub.models.BertBackbone and GPT2Backbone; received a "
        f"{type(hub).__name__}. Pass the backbone (e.g. `task.backbone`)."
    )


def from_keras_hub(backbone, dtype=None):
    """A tfzoo backbone holding the weights of a keras-hub `BertBackbone` or `GPT2Backbone`.

    The tfzoo model uses keras-hub's fixed choices (tanh GELU; norm epsilon 1e-12 for BERT,
    1e-5 for GPT-2), so both give the same outputs.

    Args:
        backbone: a `keras_hub.models.BertBackbone` or `keras_hub.models.GPT2Backbone`.
        dtype: string or `keras.DTypePolicy` of the new model. Defaults to the keras-hub model's.

    Returns:
        A `tfzoo.models.BertBackbone` or `tfzoo.models.GPTBackbone`.

    Example:

    >>> hub = keras_hub.models.BertBackbone(vocabulary_size=100, num_layers=2, num_heads=2,
    ...                                     hidden_dim=32, intermediate_dim=64)
    >>> zoo = tfzoo.convert.from_keras_hub(hub)
    """
    kind = _kind(backbone)
    common = dict(_shape_arguments(backbone, dtype), activation="gelu_tanh")
    if kind == "bert":
        zoo = BertBackbone(
            num_segments=backbone.num_segments, layer_norm_epsilon=_BERT_EPSILON, **common
        )
    else:
        zoo = GPTBackbone(layer_norm_epsilon=_GPT2_EPSILON, **common)
    _transfer(_pairs(zoo, kind), backbone, to_zoo=True)
    return zoo


def to_keras_hub(model, strict=True, dtype=None):
    """A keras-hub `BertBackbone` or `GPT2Backbone` holding a tfzoo model's backbone weights.

    Args:
        model: a tfzoo `BertBackbone` / `GPTBackbone`, or a task model wrapping one (its
            backbone is converted; heads are not part of keras-hub backbones).
        strict: bool. keras-hub fixes the activation (tanh GELU) and norm epsilon; if the tfzoo
            model differs (e.g. exact `"gelu"`, as in Hugging Face BERT), the outputs would
            differ too. `True` raises a `ValueError` then; `False` converts anyway and warns.
            Defaults to `True`.
        dtype: string or `keras.DTypePolicy` of the new model. Defaults to the tfzoo model's.

    Returns:
        A `keras_hub.models.BertBackbone` or `keras_hub.models.GPT2Backbone`.

    Example:

    >>> zoo = tfzoo.build("gpt2", num_layers=2, hidden_dim=32, num_heads=2, intermediate_dim=64)
    >>> hub = tfzoo.convert.to_keras_hub(zoo)
    """
    import keras_hub

    zoo = getattr(model, "backbone", model)
    if isinstance(zoo, BertBackbone):
        hub_cls, epsilon, kind = keras_hub.models.BertBackbone, _BERT_EPSILON, "bert"
    elif isinstance(zoo, GPTBackbone):
        hub_cls, epsilon, kind = keras_hub.models.GPT2Backbone, _GPT2_EPSILON, "gpt2"
    else:
        raise ValueError(
            f"to_keras_hub converts tfzoo BERT and GPT models; received a {type(zoo).__name__}."
        )
    problems = []
    if zoo.activation != "gelu_tanh":
        problems.append(f"activation={zoo.activation!r} (keras-hub uses the tanh GELU)")
    if not np.isclose(zoo.layer_norm_epsilon, epsilon, rtol=1e-6, atol=0):
        problems.append(f"layer_norm_epsilon={zoo.layer_norm_epsilon} (keras-hub uses {epsilon})")
    if kind == "bert" and zoo.attention_dropout != zoo.dropout:
        problems.append(
            f"attention_dropout={zoo.attention_dropout} != dropout={zoo.dropout} (training only)"
        )
    if kind == "bert" and not zoo.num_segments:
        raise ValueError("keras-hub's BertBackbone needs segment embeddings; this model has none.")
    if problems:
        message = (
            f"keras-hub's {hub_cls.__name__} cannot express {'; '.join(problems)}: its outputs would "
            f"differ from the tfzoo model's."
        )
        if strict:
            raise ValueError(message + " Pass strict=False to convert anyway.")
        warnings.warn(message, stacklevel=2)
    kwargs = _shape_arguments(zoo, dtype)
    if kind == "bert":
        kwargs["num_segments"] = zoo.num_segments
    hub = hub_cls(**kwargs)
    _transfer(_pairs(zoo, kind), hub, to_zoo=False)
    return hub
