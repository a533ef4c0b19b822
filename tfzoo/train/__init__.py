"""tfzoo.train: optimisation, distribution, mixed precision, exact resume and distillation."""

from tfzoo.train.checkpoint import ResumableCheckpoint
from tfzoo.train.checkpoint_files import (
    CorruptCheckpointError,
    list_checkpoints,
    read_checkpoint_file,
    write_checkpoint_file,
)
from tfzoo.train.distill import Distiller, distill, hard_label_loss, soft_target_loss
from tfzoo.train.distribute import prepare_for_fit, split_cpu, strategy, worker_info
from tfzoo.train.epoch_data import EpochData
from tfzoo.train.optimizers import AdamW, WarmupDecay, create_optimizer, decays_weight

__all__ = [
    "AdamW",
    "CorruptCheckpointError",
    "Distiller",
    "EpochData",
    "ResumableCheckpoint",
    "WarmupDecay",
    "create_optimizer",
    "decays_weight",
    "distill",
    "hard_label_loss",
    "list_checkpoints",
    "prepare_for_fit",
    "read_checkpoint_file",
    "soft_target_loss",
    "split_cpu",
    "strategy",
    "worker_info",
    "write_checkpoint_file",
]
