from . import checkpoint_loading  # noqa: F401  (installs the safe loader for local checkpoints)
from .train_time_hook import TrainTimeHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['TrainTimeHook', 'WeightsOnlyCheckpointHook']
