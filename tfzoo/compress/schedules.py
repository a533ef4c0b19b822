"""Pruning schedules: when to prune and to what sparsity, with tfmot's exact semantics.

A schedule is called with the pruning step (1 on the first training batch, as in
`tfmot.sparsity.keras.UpdatePruningStep`) and answers `(should_prune, sparsity)`. The arithmetic
is done in float32, in the order tfmot does it, so `tfzoo` and tfmot agree bit for bit on the
sparsity of every step (tested in `tests/compress/test_pruning_tfmot.py`).
"""

import dataclasses
import numbers

import numpy as np


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")


def _check_sparsity(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{name}` must be a float in [0, 1) (the fraction of weights set to zero). "
            f"Received: {name}={value!r}"
        )


def _in_pruning_turn(step, begin_step, end_step, frequency):
    # tfmot: begin <= step <= end (or end < 0: no end) and (step - begin) % frequency == 0.
    in_range = step >= begin_step and (end_step < 0 or step <= end_step)
    return bool(in_range and (step - begin_step) % frequency == 0)


class PruningSchedule:
    """Base class: `schedule(step) -> (should_prune, sparsity)`; subclasses are frozen dataclasses."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return {"class_name": type(self).__name__, "config": dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class ConstantSparsity(PruningSchedule):
    """Prunes to `target_sparsity` every `frequency` steps from `begin_step` to `end_step`.

    Same semantics as `tfmot.sparsity.keras.ConstantSparsity`.

    Args:
        target_sparsity: float in [0, 1). Fraction of each kernel's weights set to zero.
        begin_step: int >= 0. First step that prunes.
        end_step: int. Last step that may prune; `-1` (the default) prunes until training ends.
        frequency: int > 0. Prune on steps `begin_step + n * frequency`. Defaults to `100`.

    Example:

    >>> schedule = tfzoo.compress.ConstantSparsity(0.5, begin_step=0, frequency=10)
    >>> schedule(20)
    (True, 0.5)
    """

    target_sparsity: float
    begin_step: int
    end_step: int = -1
    frequency: int = 100

    def __post_init__(self):
        _check_sparsity("target_sparsity", self.target_sparsity)
        _check_int("begin_step", self.begin_step, 0)
        _check_int("frequency", self.frequency, 1)
        _check_int("end_step", self.end_step, -1)
        if self.end_step != -1 and self.end_step < self.begin_step:
            raise ValueError(
                f"`end_step` ({self.end_step}) is before `begin_step` ({self.begin_step}). Use an "
                f"end_step >= begin_step, or -1 to prune until the end of training."
            )

    def __call__(self, step):
        should = _in_pruning_turn(int(step), self.begin_step, self.end_step, self.frequency)
        return should, float(np.float32(self.target_sparsity))


@dataclasses.dataclass(frozen=True)
class PolynomialDecay(PruningSchedule):
    """Sparsity rising from `initial_sparsity` to `final_sparsity` along a polynomial.

    `s(step) = final + (initial - final) * (1 - p) ** power`, with
    `p = clip((step - begin_step) / (end_step - begin_step), 0, 1)` (Zhu & Gupta, 2017), pruning
    every `frequency` steps in `[begin_step, end_step]`. Same semantics and float32 arithmetic
    as `tfmot.sparsity.keras.PolynomialDecay`. Unlike tfmot (which divides by zero there),
    `end_step == begin_step` is rejected: use `ConstantSparsity` for a one-shot prune.

    Args:
        initial_sparsity: float in [0, 1). Sparsity at `begin_step`.
        final_sparsity: float in [0, 1). Sparsity from `end_step` on.
        begin_step: int >= 0.
        end_step: int > begin_step.
        power: number. Exponent of the decay. Defaults to `3`.
        frequency: int > 0. Defaults to `100`.

    Example:

    >>> schedule = tfzoo.compress.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=1000)
    >>> schedule(1000)
    (True, 0.800000011920929)
    """

    initial_sparsity: float
    final_sparsity: float
    begin_step: int
    end_step: int
    power: float = 3
    frequency: int = 100

    def __post_init__(self):
        _check_sparsity("initial_sparsity", self.initial_sparsity)
        _check_sparsity("final_sparsity", self.final_sparsity)
        _check_int("begin_step", self.begin_step, 0)
        _check_int("end_step", self.end_step, 0)
        _check_int("frequency", self.frequency, 1)
        if self.end_step <= self.begin_step:
            raise ValueError(
                f"`end_step` ({self.end_step}) must be after `begin_step` ({self.begin_step}). "
                f"Use an end_step > begin_step, or ConstantSparsity for a one-shot prune."
            )
        if isinstance(self.power, bool) or not isinstance(self.power, numbers.Real):
            raise ValueError(f"`power` must be a number. Received: power={self.power!r}")

    def __call__(self, step):
        step = int(step)
        f32 = np.float32
        # The same float32 operations, in the same order, as tfmot's graph.
        p = f32(step - self.begin_step) / f32(self.end_step - self.begin_step)
        p = np.minimum(f32(1.0), np.maximum(f32(0.0), p))
        # tf.pow on float32 is glibc's powf, correctly rounded: the power in float64 rounded
        # to float32 gives the same bits (numpy's float32 power can be 1 ulp off).
        decay = f32(np.float64(f32(1.0) - p) ** np.float64(f32(self.power)))
        sparsity = f32(self.initial_sparsity - self.final_sparsity) * decay + f32(
            self.final_sparsity
        )
        should = _in_pruning_turn(step, self.begin_step, self.end_step, self.frequency)
        return should, float(f32(sparsity))


SCHEDULES = {"ConstantSparsity": ConstantSparsity, "PolynomialDecay": PolynomialDecay}


def schedule_from_config(config):
    """Rebuilds a schedule from `schedule.get_config()`."""
    if not isinstance(config, dict) or config.get("class_name") not in SCHEDULES:
        raise ValueError(
            f"Unknown pruning schedule config {config!r}. Known schedules: {sorted(SCHEDULES)}."
        )
    return SCHEDULES[config["class_name"]](**config["config"])
