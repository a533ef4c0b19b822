"""Fake quantization on the TFLite int8 grid, written so the TFLite converter recognises it.

Two quantizers, following the TFLite int8 specification and the default 8-bit scheme of the
TensorFlow Model Optimization toolkit (tfmot):

* weights: symmetric, narrow range (integers in `[-127, 127]`, zero point 0), one scale per
  output channel (`fake_quant_weights`). The range is the weight's own max-abs value each step
  ("last value"), so a trained kernel quantizes exactly as the converter will store it.
* activations: asymmetric, full range (integers in `[-128, 127]`), one scale and zero point per
  tensor, from a moving average of the batch min/max (`ActivationQuantizer`). The range always
  contains 0, so zero padding is exact.

Both call `tf.quantization.fake_quant_with_min_max_vars[_per_channel]`: these are the ops the
TFLite converter turns into quantize/dequantize pairs and then into integer kernels
(`FULLY_CONNECTED`, `BATCH_MATMUL` with int8 inputs). They exist only on the TensorFlow
backend. Their gradient is the straight-through estimator (identity inside the range, zero
outside).
"""

import keras
from keras import ops

NUM_BITS = 8

# Smallest weight range: an all-zero output channel would otherwise give a zero scale (0 / 0 in
# the op's nudging). Any nonzero weight is far above this, so real channels are unaffected.
_MIN_WEIGHT_RANGE = 1e-8


def _tf():
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "tfzoo quantization-aware training needs the TensorFlow backend (it uses the "
            "TensorFlow fake-quant ops that the TFLite converter reads). Received backend "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow."
        )
    import tensorflow as tf

    return tf


def fake_quant_weights(kernel, per_channel=True):
    """Fake-quantizes a kernel to symmetric narrow-range int8, per output channel.

    The scale of channel `j` is `max|kernel[..., j]| / 127`, so the largest weight of each
    channel is exactly representable and zero maps to the integer 0 (the TFLite int8 weight
    spec: zero point 0, values in `[-127, 127]`).

    Args:
        kernel: float tensor `(..., out_channels)`. The last axis is the output channel.
        per_channel: bool. One scale per output channel; `False` uses one scale for the whole
            tensor. Defaults to `True`.

    Returns:
        A float32 tensor of the same shape holding values on the int8 grid.

    Example:

    >>> k = np.random.randn(16, 4).astype("float32")
    >>> q = tfzoo.compress.fake_quant.fake_quant_weights(k)   # (16, 4), 255 levels per column
    """
    tf = _tf()
    kernel = tf.cast(kernel, "float32")
    if per_channel:
        reduce_axes = list(range(len(kernel.shape) - 1))  # every axis but the output channel
        limit = tf.reduce_max(tf.abs(kernel), axis=reduce_axes)  # (out_channels,)
    else:
        limit = tf.reduce_max(tf.abs(kernel))  # ()
    # The range follows the weights but is not trained through (tfmot's LastValueQuantizer).
    limit = tf.stop_gradient(tf.maximum(limit, _MIN_WEIGHT_RANGE))
    if per_channel:
        return tf.quantization.fake_quant_with_min_max_vars_per_channel(
            kernel, -limit, limit, num_bits=NUM_BITS, narrow_range=True
        )
    return tf.quantization.fake_quant_with_min_max_vars(
        kernel, -limit, limit, num_bits=NUM_BITS, narrow_range=True
    )


@keras.saving.register_keras_serializable(package="tfzoo")
class ActivationQuantizer(keras.layers.Layer):
    """Per-tensor asymmetric int8 fake quantization with a moving-average range.

    In training, each batch's min and max (extended to include 0) update an exponential moving
    average, `range = decay * range + (1 - decay) * batch_range`; the first training batch sets
    the range directly, so training does not start from an arbitrary guess. A training batch is
    quantized with the union of the moving range and its own range, so it is never clipped:
    tfmot quantizes with the moving range alone, and then a new classifier head, whose logits
    start near 0 and must grow, gets no gradient beyond its first tiny range and stops learning
    (measured: loss stuck at 0.694 where float training reached 0.35). At inference the stored range is used unchanged, so the
    output of a trained model does not depend on the batch. Before any training the range is
    `[-6, 6]` (tfmot's initial value).

    The range is three non-trainable float32 variables (`min_value`, `max_value`,
    `initialized`): they are saved with the model and frozen into the TFLite file as the
    tensor's scale and zero point.

    Args:
        ema_decay: float in `[0, 1)`. Weight of the old range in the moving average.
            Defaults to `0.99`: the range follows the data over ~100 steps, which suits QAT
            fine-tuning runs of a few hundred steps (tfmot uses `0.999`, ~1000 steps).

    Call arguments:
        inputs: float tensor of any shape.
        training: bool. Update the range from the batch.

    Example:

    >>> quantizer = tfzoo.compress.fake_quant.ActivationQuantizer()
    >>> y = quantizer(np.random.randn(4, 8).astype("float32"), training=True)  # on a 255-step grid
    """

    def __init__(self, ema_decay=0.99, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(ema_decay, (int, float)) or not 0.0 <= ema_decay < 1.0:
            raise ValueError(
                f"`ema_decay` must be a float in [0, 1), e.g. 0.999. Received: ema_decay={ema_decay}"
            )
        self.ema_decay = float(ema_decay)

    def build(self, input_shape=None):
        def scalar(name, value):
            return self.add_weight(
                name=name,
                shape=(),
                initializer=keras.initializers.Constant(value),
                trainable=False,
                dtype="float32",
                autocast=False,
            )

        self.min_value = scalar("min_value", -6.0)
        self.max_value = scalar("max_value", 6.0)
        self.initialized = scalar("initialized", 0.0)
        self.built = True

    def call(self, inputs, training=None):
        tf = _tf()
        x = ops.cast(inputs, "float32")
        if training:
            batch_min = ops.minimum(ops.min(x), 0.0)
            batch_max = ops.maximum(ops.max(x), 0.0)
            seen = self.initialized > 0.5
            decay = self.ema_decay
            new_min = ops.where(seen, decay * self.min_value + (1.0 - decay) * batch_min, batch_min)
            new_max = ops.where(seen, decay * self.max_value + (1.0 - decay) * batch_max, batch_max)
            self.min_value.assign(new_min)
            self.max_value.assign(new_max)
            self.initialized.assign(1.0)
            # Quantize this batch with the union of the moving range and its own range: a batch
            # is never clipped in training, so values that must grow (a new head's logits) keep
            # their gradient instead of sticking at a range set by early, small batches. The
            # range is a statistic, not a parameter: no gradient flows into it.
            low = ops.stop_gradient(ops.minimum(new_min, batch_min))
            high = ops.stop_gradient(ops.maximum(new_max, batch_max))
        else:
            low = ops.convert_to_tensor(self.min_value)
            high = ops.convert_to_tensor(self.max_value)
        y = tf.quantization.fake_quant_with_min_max_vars(
            x, low, high, num_bits=NUM_BITS, narrow_range=False
        )
        return ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"ema_decay": self.ema_decay})
        return config
