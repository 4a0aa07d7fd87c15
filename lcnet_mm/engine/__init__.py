from .atomic_checkpoint_hook import AtomicCheckpointHook
from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper
from .data_check_hook import DataCheckHook
from .train_time_hook import TrainTimeHook
from .training_config import disable_amp, enable_amp, training_mode_hooks
from .training_mode_hook import TrainingMode, TrainingModeHook, choose_fastest
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'AtomicCheckpointHook',
    'CpuAmpOptimWrapper',
    'DataCheckHook',
    'TrainTimeHook',
    'TrainingMode',
    'TrainingModeHook',
    'WeightsOnlyCheckpointHook',
    'choose_fastest',
    'disable_amp',
    'enable_amp',
    'training_mode_hooks',
]
