"""What a training run uses beside the model: hooks (atomic and weights-only checkpoints, data checks, the measured
training mode, the training clock), the time-budget loop, the CPU AMP optim wrapper and the config helpers. Names
are imported from their modules on first use."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'atomic_checkpoint_hook': ('AtomicCheckpointHook',),
        'budgeted_train_loop': ('BudgetedEpochBasedTrainLoop', 'BudgetedIterBasedTrainLoop'),
        'cpu_amp_optim_wrapper': ('CpuAmpOptimWrapper',),
        'data_check_hook': ('DataCheckHook',),
        'train_time_hook': ('TrainTimeHook',),
        'time_budget': ('FittedSchedule', 'fit_schedule'),
        'training_config': ('disable_amp', 'enable_amp', 'set_time_budget', 'training_mode_hooks'),
        'training_mode_hook': ('TrainingMode', 'TrainingModeHook', 'choose_fastest', 'winner_is_clear'),
        'weights_only_checkpoint_hook': ('WeightsOnlyCheckpointHook',),
    },
)
