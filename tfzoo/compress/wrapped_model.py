"""What the compression wrappers (`PrunedModel`, `QATModel`) share: their `.keras` config.

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
