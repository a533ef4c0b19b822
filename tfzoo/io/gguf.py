"""GGUF files (llama.cpp's format): finding, opening and dequantizing them.

The file-format layer only (metadata, tensor types, dequantization with the `gguf` package, the
format's own reader); it knows no model family. `tfzoo.convert.gguf` maps a file's tensors onto a
family, `tfzoo.text.gguf_tokenizer` builds its tokenizer.
"""

import os

import numpy as np

GGUF_PIP = "pip install 'gguf>=0.19,<0.20'"
# Tensor types tfzoo dequantizes (`gguf.GGMLQuantizationType` names): plain floats and the
# block quantizations llama.cpp's `llama-quantize` writes for the common presets.
SUPPORTED_TENSOR_TYPES = (
    "F32",
    "F16",
    "BF16",
    "Q8_0",
    "Q4_0",
    "Q4_1",
    "Q5_0",
    "Q5_1",
    "Q4_K",
    "Q5_K",
    "Q6_K",
)
_MAGIC = b"GGUF"


def gguf_module():
    """Imports the `gguf` package, or raises a one-line error naming the pip command."""
    try:
        import gguf
    except ImportError as e:
        raise ValueError(
            f"Reading GGUF files needs the `gguf` package. Install it with: `{GGUF_PIP}` "
            f"(or `pip install 'tfzoo[gguf]'`)."
        ) from e
    return gguf


def find_gguf_file(path):
    """The GGUF file `path` names, or `None` when `path` is not a GGUF file or folder.

    A file counts when its name ends in `.gguf` or it starts with the GGUF magic bytes; a
    directory counts when it has no `config.json` and holds `.gguf` files (exactly one, else
    the error lists them).
    """
    path = os.fspath(path)
    if os.path.isfile(path):
        if path.lower().endswith(".gguf"):
            return path
        with open(path, "rb") as f:
            return path if f.read(4) == _MAGIC else None
    if not os.path.isdir(path) or os.path.isfile(os.path.join(path, "config.json")):
        return None
    found = sorted(f for f in os.listdir(path) if f.lower().endswith(".gguf"))
    if len(found) > 1:
        raise ValueError(
            f"{path!r} holds {len(found)} GGUF files {found}; pass the path of the one to load."
        )
    return os.path.join(path, found[0]) if found else None


class GGUFFile:
    """The metadata and tensors of one GGUF file, read with the `gguf` package.

    Tensor data stays memory-mapped until `dequantize` reads it.

    Args:
        path: string. A `.gguf` file.

    Attributes:
        path: string.
        metadata: dict. Every metadata key -> its value (arrays as lists).
        architecture: string. `general.architecture`, e.g. `"llama"`.
        tensors: dict. Tensor name -> `gguf.ReaderTensor`, in file order.
    """

    def __init__(self, path):
        gguf = gguf_module()
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise ValueError(f"GGUF file {self.path!r} does not exist.")
        with open(self.path, "rb") as f:
            magic = f.read(4)
        if magic != _MAGIC:
            raise ValueError(
                f"{self.path!r} is not a GGUF file: it starts with {magic!r}, not {_MAGIC!r}."
            )
        try:
            reader = gguf.GGUFReader(self.path)
            self.metadata = {k: field.contents() for k, field in reader.fields.items()}
        except Exception as e:  # the reader raises ValueError, IndexError, struct errors...
            raise ValueError(
                f"Cannot read {self.path!r} as GGUF (truncated or corrupt file?): "
                f"{type(e).__name__}: {e}"
            ) from e
        self.tensors = {t.name: t for t in reader.tensors}
        size = os.path.getsize(self.path)
        for t in reader.tensors:  # the reader maps a truncated tail as a shorter array
            if int(t.data_offset) + int(t.n_bytes) > size or t.data.nbytes != int(t.n_bytes):
                raise ValueError(
                    f"{self.path!r} is truncated: tensor {t.name!r} needs bytes up to "
                    f"{int(t.data_offset) + int(t.n_bytes)}, the file has {size}."
                )
        self.architecture = self.metadata.get("general.architecture")

    def tensor_type(self, name):
        """The `gguf.GGMLQuantizationType` name of tensor `name`, e.g. `"Q4_K"`."""
        return self.tensors[name].tensor_type.name

    def check_tensor_types(self):
        """Raises a one-line error naming the first tensor of a type tfzoo cannot dequantize."""
        for name, tensor in self.tensors.items():
            kind = tensor.tensor_type.name
            if kind not in SUPPORTED_TENSOR_TYPES:
                raise ValueError(
                    f"Tensor {name!r} in {self.path!r} has GGUF type {kind}, which tfzoo cannot "
                    f"dequantize. Supported: {', '.join(SUPPORTED_TENSOR_TYPES)} (re-quantize "
                    f"the model with llama.cpp's `llama-quantize` to one of them)."
                )

    def dequantize(self, name):
        """Tensor `name` as a float32 array in NumPy (row-major, Hugging Face) axis order."""
        gguf = gguf_module()
        tensor = self.tensors[name]
        kind = tensor.tensor_type.name
        if kind not in SUPPORTED_TENSOR_TYPES:
            self.check_tensor_types()
        # GGUF lists dimensions fastest-first (`ne[0]` = columns): NumPy order is reversed.
        shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))
        array = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        return np.asarray(array, dtype=np.float32).reshape(shape)


def end_token_ids(metadata):
    """The ids that end a turn: the file's `eos`, `eot` (end of turn) and `eom` token ids."""
    ids = [metadata.get(f"tokenizer.ggml.{key}_token_id") for key in ("eos", "eot", "eom")]
    return [int(i) for i in dict.fromkeys(ids) if i is not None]
