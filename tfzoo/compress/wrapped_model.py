"""What the compression wrappers (`PrunedModel`, `QATModel`) share: their `.keras` config, and
`copy_model`, the copy a compression step works on so the caller's model stays as it was.

Both wrap a tfzoo model; their config holds the wrapped model's serialized config under
`"model"`, the wrapper's own options, and the Keras `name` and `trainable`.
"""

import keras


def wrapper_config(wrapper, model_config, **options):
    """The config of `wrapper`: `{"model": model_config, **options, "name", "trainable"}`."""
    return {"model": model_config, **options, "name": wrapper.name, "trainable": wrapper.trainable}


def from_wrapper_config(cls, config, **decoders):
    """`cls(**config)` with the wrapped model deserialized and each `decoders[key]` applied."""
    config = dict(config)
    config["model"] = keras.saving.deserialize_keras_object(config["model"])
    for key, decode in decoders.items():
        config[key] = decode(config[key])
    return cls(**config)


def copy_model(model):
    """A new model from `model`'s config, holding copies of its weights."""
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    copy.set_weights(model.get_weights())
    return copy
