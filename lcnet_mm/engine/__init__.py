"""What a training run uses beside the model: hooks (atomic and weights-only checkpoints, data checks, the measured
training mode, the training clock), the CPU AMP optim wrapper and the config helpers. Names are imported from their
modules on first use."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'atomic_checkpoint_hook': ('AtomicCheckpointHook',),
        'cpu_amp_optim_wrapper': ('CpuAmpOptimWrapper',),
        'data_check_hook': ('DataCheckHook',),
        'train_time_hook': ('TrainTimeHook',),
        'training_config': ('disable_amp', 'enable_amp', 'training_mode_hooks'),
        'training_mode_hook': ('TrainingMode', 'TrainingModeHook', 'choose_fastest'),
        'weights_only_checkpoint_hook': ('WeightsOnlyCheckpointHook',),
    },
)
