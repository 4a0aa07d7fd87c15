from .train_time_hook import TrainTimeHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['TrainTimeHook', 'WeightsOnlyCheckpointHook']
