from .train_time_hook import TrainTimeHook

__all__ = ['TrainTimeHook']
