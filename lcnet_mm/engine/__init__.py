from .atomic_checkpoint_hook import AtomicCheckpointHook
from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper
from .cpu_features import cpu_flags, native_bf16_features
from .data_check_hook import DataCheckHook
from .train_time_hook import TrainTimeHook
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
    'cpu_flags',
    'native_bf16_features',
]
