"""`ArgumentsConfig`: a layer whose config is its constructor arguments, listed once."""

import sys

import keras

# Names in an `__init__`'s `locals()` that are not arguments of the layer.
_NOT_ARGUMENTS = ("self", "kwargs", "__class__")


class ArgumentsConfig:
    """Mixin for tfzoo layers: `get_config` returns the arguments `_keep_arguments` stored.

    A layer calls `self._keep_arguments(locals())` after `super().__init__(**kwargs)` (and after
    resolving defaults it wants saved resolved); each parameter of its `__init__` becomes an
    attribute of the same name (an `initializer` or `*_initializer` argument as an initializer object,
    serialised back by `get_config`). A
    subclass that adds arguments calls it again after its own `super().__init__`.

    Example:

    >>> class Scale(ArgumentsConfig, keras.layers.Layer):
    ...     def __init__(self, factor=2.0, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self._keep_arguments(locals())   # self.factor; get_config()["factor"]
    """

    def _keep_arguments(self, arguments):
        # Only the parameters of the `__init__` that calls this: its other locals (loop
        # variables of its checks) are not arguments. A parameter it resolved (`None` ->
        # a default) is kept with its resolved value.
        caller = sys._getframe(1).f_code
        parameters = caller.co_varnames[: caller.co_argcount + caller.co_kwonlyargcount]
        names = [name for name in parameters if name not in _NOT_ARGUMENTS]
        for name in names:
            value = arguments[name]
            if name.endswith("initializer"):
                value = keras.initializers.get(value)
            setattr(self, name, value)
        self._argument_names = tuple(
            dict.fromkeys(getattr(self, "_argument_names", ()) + tuple(names))
        )

    def get_config(self):
        config = super().get_config()
        for name in self._argument_names:
            value = getattr(self, name)
            if name.endswith("initializer"):
                value = keras.initializers.serialize(value)
            config[name] = value
        return config
