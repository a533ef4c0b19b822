"""sentence-transformers checkpoints as they are: `modules.json` read and written.

A sentence-transformers directory is a Hugging Face model (`config.json` + safetensors, at the
path of its `Transformer` module, usually the directory itself) followed by modules listed in
`modules.json`: `Pooling` (`1_Pooling/config.json`), optional `Dense` layers (`2_Dense/...`:
`config.json` + `model.safetensors` with `linear.weight` / `linear.bias`) and `Normalize`.
`from_pretrained(path, task="sentence_embedding")` maps them onto `SentenceEmbedding`'s
`pooling`, `dense` and `normalize`, and `save_pretrained` writes them back, so the package
`sentence-transformers` loads tfzoo's output and gives the same vectors.
"""

import dataclasses
import json
import os

import numpy as np

from tfzoo.models.pooling import POOLING_MODES, check_pooling
from tfzoo.models.sentence_embedding import DENSE_ACTIVATIONS

MODULES_FILE = "modules.json"
SETTINGS_FILE = "sentence_bert_config.json"
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_TANH = "torch.nn.modules.activation.Tanh"  # a Dense module's activation when its config omits it
_KERAS_TO_TORCH = {v: k for k, v in DENSE_ACTIVATIONS.items()}
_MODULE_TYPES = ("Transformer", "Pooling", "Dense", "Normalize")


@dataclasses.dataclass
class SentenceTransformerModules:
    """What `modules.json` adds to the Hugging Face model at `transformer_path`."""

    transformer_path: str
    pooling: object = "mean"
    normalize: bool = False
    dense: list = dataclasses.field(default_factory=list)  # [{"units", "activation", "use_bias"}]
    dense_weights: list = dataclasses.field(default_factory=list)  # [(kernel, bias or None)]
    max_seq_length: int | None = None

    def task_args(self):
        return {"pooling": self.pooling, "normalize": self.normalize, "dense": self.dense}


def read_modules(path):
    """Reads `path/modules.json`; `None` if `path` is not a sentence-transformers directory.

    Raises:
        ValueError: a module type tfzoo does not support (named, with the supported ones), a
            broken module config, or Dense weights stored only as a pickle.
    """
    path = os.fspath(path)
    modules_path = os.path.join(path, MODULES_FILE)
    if not os.path.isfile(modules_path):
        return None
    modules = _read_json(modules_path, list)
    result = None
    for module in sorted(modules, key=lambda m: m.get("idx", 0)):
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        where = os.path.join(path, module.get("path", ""))
        if kind not in _MODULE_TYPES:
            raise ValueError(
                f"{modules_path} lists a {module.get('type')!r} module, which tfzoo cannot "
                f"convert. Supported sentence-transformers modules: {list(_MODULE_TYPES)}."
            )
        if kind == "Transformer":
            result = SentenceTransformerModules(transformer_path=where)
            settings = os.path.join(where, SETTINGS_FILE)
            if os.path.isfile(settings):
                result.max_seq_length = _read_json(settings, dict).get("max_seq_length")
            continue
        if result is None:
            raise ValueError(f"{modules_path} lists a {kind} module before its Transformer module.")
        if kind == "Pooling":
            result.pooling = _pooling(_read_json(os.path.join(where, "config.json"), dict), where)
        elif kind == "Normalize":
            result.normalize = True
        else:
            spec, weights = _dense(where)
            result.dense.append(spec)
            result.dense_weights.append(weights)
    if result is None:
        raise ValueError(f"{modules_path} has no Transformer module: it holds no model to convert.")
    return result


def load_dense_weights(model, modules):
    """Writes the Dense modules' weights into `model`'s `dense_<i>` layers (shapes checked)."""
    for i, (layer, (kernel, bias)) in enumerate(
        zip(model.dense_layers, modules.dense_weights, strict=True)
    ):
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ValueError(
                f"Dense module {i} holds a {kernel.shape[::-1]} `linear.weight`, but the model "
                f"expects {expected[::-1]}: the pooled size and the Dense module disagree."
            )
        layer.kernel.assign(kernel)
        if bias is not None:
            layer.bias.assign(bias)


def module_files(model):
    """The sentence-transformers files of a `SentenceEmbedding`: relative path -> bytes."""
    from safetensors.numpy import save

    modules = [_entry(0, "Transformer", "")]
    pooling = check_pooling(model.pooling)
    files = {
        "1_Pooling/config.json": _json(
            {
                "word_embedding_dimension": int(model.backbone.output["sequence_output"].shape[-1]),
                "pooling_mode": pooling[0] if len(pooling) == 1 else list(pooling),
            }
        )
    }
    modules.append(_entry(1, "Pooling", "1_Pooling"))
    for layer in model.dense_layers:
        folder = f"{len(modules)}_Dense"
        activation = keras_activation_name(layer)
        files[f"{folder}/config.json"] = _json(
            {
                "in_features": int(layer.kernel.shape[0]),
                "out_features": int(layer.units),
                "bias": bool(layer.use_bias),
                "activation_function": _KERAS_TO_TORCH[activation],
            }
        )
        tensors = {"linear.weight": np.ascontiguousarray(np.asarray(layer.kernel).T)}
        if layer.use_bias:
            tensors["linear.bias"] = np.asarray(layer.bias)
        files[f"{folder}/model.safetensors"] = save(tensors, metadata={"format": "pt"})
        modules.append(_entry(len(modules), "Dense", folder))
    if model.normalize:
        modules.append(_entry(len(modules), "Normalize", f"{len(modules)}_Normalize"))
    files[MODULES_FILE] = _json(modules)
    length = getattr(model, "max_seq_length", None) or model.backbone.max_sequence_length
    files[SETTINGS_FILE] = _json({"max_seq_length": int(length), "do_lower_case": False})
    return files


def keras_activation_name(layer):
    name = getattr(layer.activation, "__name__", None)
    name = None if name == "linear" else name
    if name not in _KERAS_TO_TORCH:
        raise ValueError(
            f"Dense layer {layer.name!r} has activation {name!r}, which sentence-transformers' "
            f"Dense module cannot name. Use one of {sorted(map(str, _KERAS_TO_TORCH))}."
        )
    return name


def _pooling(config, where):
    if "pooling_mode" in config:
        modes = config["pooling_mode"]
    else:
        modes = tuple(mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key))
        modes = modes or ("mean",)
    try:
        modes = check_pooling(modes)
    except ValueError:
        raise ValueError(
            f"{where}/config.json names pooling {modes!r}; tfzoo pools with {POOLING_MODES}."
        ) from None
    return modes[0] if len(modes) == 1 else modes


def _dense(where):
    from safetensors.numpy import load_file

    config = _read_json(os.path.join(where, "config.json"), dict)
    torch_name = config.get("activation_function", _TANH)
    if torch_name not in DENSE_ACTIVATIONS:
        raise ValueError(
            f"{where}/config.json names activation {torch_name!r}; tfzoo converts "
            f"{sorted(DENSE_ACTIVATIONS)}."
        )
    weights_file = os.path.join(where, "model.safetensors")
    if not os.path.isfile(weights_file):
        raise ValueError(
            f"{where} has no model.safetensors (tfzoo never unpickles pytorch_model.bin). Re-save "
            f"the model with a recent sentence-transformers, which writes safetensors."
        )
    tensors = load_file(weights_file)
    kernel = tensors["linear.weight"].T.astype(np.float32)
    bias = tensors.get("linear.bias")
    spec = {
        "units": int(config.get("out_features", kernel.shape[1])),
        "activation": DENSE_ACTIVATIONS[torch_name],
        "use_bias": bool(config.get("bias", True)),
    }
    return spec, (kernel, None if bias is None else bias.astype(np.float32))


def _entry(idx, kind, path):
    return {
        "idx": idx,
        "name": str(idx),
        "path": path,
        "type": f"sentence_transformers.models.{kind}",
    }


def _json(value):
    return (json.dumps(value, indent=2) + "\n").encode("utf-8")


def _read_json(path, kind):
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(
            f"Cannot read {path} ({e}). Is the sentence-transformers model complete?"
        ) from e
    if not isinstance(value, kind):
        raise ValueError(f"{path} must hold a JSON {kind.__name__}, found {type(value).__name__}.")
    return value
