from .channels_last_hook import ChannelsLastHook
from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper
from .cpu_features import cpu_flags, native_bf16_features
from .train_time_hook import TrainTimeHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ChannelsLastHook',
    'CpuAmpOptimWrapper',
    'TrainTimeHook',
    'WeightsOnlyCheckpointHook',
    'cpu_flags',
    'native_bf16_features',
]
