"""`SentenceEmbedding`: an encoder backbone pooled into one vector per text, with `encode`."""

import keras
import numpy as np
from keras import ops

from tfzoo.models.pooling import check_pooling, pool
from tfzoo.models.task import Task

# Activations a sentence-transformers `Dense` module may name, as Keras activations.
DENSE_ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": None,
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
}


class SentenceEmbedding(Task):
    """Sentence embeddings: pooled hidden states, optional dense layers, optional L2 norm.

    The arithmetic is sentence-transformers' (`Transformer -> Pooling -> Dense* -> Normalize`),
    so a checkpoint with `modules.json` read by `tfzoo.from_pretrained(path,
    task="sentence_embedding")` gives that package's vectors.

    Args:
        backbone: an encoder backbone whose outputs hold `sequence_output`.
        normalize: bool. L2-normalise the embeddings. Defaults to `False`.
        pooling: str or tuple of str. A mode of `tfzoo.models.pooling.POOLING_MODES`
            (`"mean"`, `"cls"`, `"max"`, ...); a tuple concatenates them. Defaults to `"mean"`.
        dense: list of dicts `{"units": int, "activation": str or None, "use_bias": bool}`,
            dense layers applied after pooling (sentence-transformers' `Dense` modules).
            Defaults to none.

    Outputs float32 `(batch, dimension)`. `encode(texts)` tokenizes and embeds a list of texts
    with the tokenizer the loader attached (or one you pass).
    """

    def __init__(self, backbone, normalize=False, pooling="mean", dense=None, **kwargs):
        pooling = check_pooling(pooling)
        dense = [_check_dense(d, i) for i, d in enumerate(dense or ())]
        # === Layers ===
        self.backbone = backbone
        self.dense_layers = [
            keras.layers.Dense(
                d["units"],
                activation=d["activation"],
                use_bias=d["use_bias"],
                dtype=backbone.dtype_policy,
                name=f"dense_{i}",
            )
            for i, d in enumerate(dense)
        ]
        # === Functional Model ===
        inputs = backbone.input
        x = pool(backbone(inputs)["sequence_output"], inputs["padding_mask"], pooling)
        for layer in self.dense_layers:
            x = layer(x)
        x = ops.cast(x, "float32")
        if normalize:
            x = x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), 1e-12)
        super().__init__(inputs=inputs, outputs=x, **kwargs)
        # === Config ===
        self.normalize = normalize
        self.pooling = pooling[0] if len(pooling) == 1 else pooling
        self.dense = dense
        self.tokenizer = None  # set by `tfzoo.from_pretrained`, used by `encode`

    def get_config(self):
        config = super().get_config()
        config.update({"normalize": self.normalize, "pooling": self.pooling, "dense": self.dense})
        return config

    def encode(self, texts, batch_size=32, tokenizer=None, max_length=None):
        """Embeds texts, as sentence-transformers' `encode` does.

        Texts are sorted by length, tokenized in batches padded to their longest text (truncated
        to `max_length`) and embedded; the result is in the order of `texts`.

        Args:
            texts: a string or a list of strings.
            batch_size: int. Texts per model call. Defaults to `32`.
            tokenizer: a `tfzoo.text.Tokenizer`. Defaults to the checkpoint's, attached by
                `tfzoo.from_pretrained`.
            max_length: int or None. Longest token sequence (special tokens included).
                Defaults to the checkpoint's `max_seq_length`, else the tokenizer's maximum.

        Returns:
            float32 NumPy array `(len(texts), dimension)`, or `(dimension,)` for one string.
        """
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is None:
            raise ValueError(
                "`encode` needs a tokenizer: load the model with `tfzoo.from_pretrained(path, "
                "task='sentence_embedding')` (which attaches the checkpoint's) or pass "
                "`tokenizer=tfzoo.text.tokenizer_from_pretrained(path)`."
            )
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("`texts` must be a string or a list of strings.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
        limit = max_length or getattr(self, "max_seq_length", None) or tokenizer.max_sequence_length
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.output.shape[-1]), np.float32)
        saved = tokenizer.max_sequence_length
        tokenizer.max_sequence_length = int(limit)
        try:
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                inputs = tokenizer([texts[i] for i in rows])
                out[rows] = np.asarray(self.predict_on_batch(_pad_to_bucket(inputs)))
        finally:
            tokenizer.max_sequence_length = saved
        return out[0] if single else out


def _pad_to_bucket(inputs, multiple=32):
    """Pads a batch to a multiple of `multiple` tokens, so few input shapes are compiled."""
    length = int(inputs["token_ids"].shape[1])
    extra = -length % multiple
    return {k: np.pad(np.asarray(v), ((0, 0), (0, extra))) for k, v in inputs.items()}


def _check_dense(spec, index):
    if not isinstance(spec, dict) or not isinstance(spec.get("units"), int):
        raise ValueError(
            f"`dense[{index}]` must be a dict with an int `units` (and optional `activation`, "
            f"`use_bias`). Received: {spec!r}"
        )
    return {
        "units": spec["units"],
        "activation": spec.get("activation"),
        "use_bias": bool(spec.get("use_bias", True)),
    }
