"""Config edits that choose how a run trains on the CPU: BF16 autocast on or off, for the command lines
(``tools/train.py --amp``) and the training benchmark's fixed modes."""

from mmengine.config import Config

AMP_WRAPPERS = ('AmpOptimWrapper', 'CpuAmpOptimWrapper', 'lcnet_mm.CpuAmpOptimWrapper')
TRAINING_MODE_HOOKS = ('TrainingModeHook', 'lcnet_mm.TrainingModeHook')


def training_mode_hooks(cfg: Config) -> list:
    """The config dicts of every :class:`TrainingModeHook` in ``default_hooks`` and ``custom_hooks``."""
    hooks = list((cfg.get('default_hooks') or {}).values()) + list(cfg.get('custom_hooks') or [])
    return [hook for hook in hooks if isinstance(hook, dict) and hook.get('type') in TRAINING_MODE_HOOKS]


def enable_amp(cfg: Config) -> None:
    """``--amp``: mmengine's ``AmpOptimWrapper`` (float16 with dynamic loss scaling) where CUDA is, and
    :class:`CpuAmpOptimWrapper` (BF16 autocast, float32 where the CPU has no native BF16) on a CPU, where
    mmengine's refuses to run. An explicit choice: a ``TrainingModeHook`` of the config no longer measures the
    precision."""
    import torch

    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in ('OptimWrapper', *AMP_WRAPPERS):
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper (or one of {AMP_WRAPPERS}), got {wrapper!r}')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    else:
        cfg.optim_wrapper.type = 'lcnet_mm.CpuAmpOptimWrapper'
        for hook in training_mode_hooks(cfg):
            hook['precision'] = 'bf16'


def disable_amp(cfg: Config) -> None:
    """The reverse of :func:`enable_amp`: float32, whatever mixed-precision wrapper the config names."""
    if cfg.optim_wrapper.get('type') in AMP_WRAPPERS:
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
    for hook in training_mode_hooks(cfg):
        hook['precision'] = 'fp32'


# The loop each of mmengine's training loops becomes under a time budget.
BUDGET_LOOPS = {
    'EpochBasedTrainLoop': 'lcnet_mm.BudgetedEpochBasedTrainLoop',
    'IterBasedTrainLoop': 'lcnet_mm.BudgetedIterBasedTrainLoop',
}


def set_time_budget(cfg: Config, seconds: float) -> None:
    """``tools/train.py --time-budget S``: train within ``seconds`` of training, the schedule fitted to the measured
    speed (:class:`BudgetedEpochBasedTrainLoop`, :class:`BudgetedIterBasedTrainLoop`)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f'--time-budget must be a number of seconds > 0, got {seconds!r}')
    train_cfg = cfg.get('train_cfg')
    if not train_cfg:
        raise ValueError('--time-budget needs a train_cfg in the config (an epoch- or iteration-based training loop)')
    by_epoch = train_cfg.pop('by_epoch', True)
    loop = train_cfg.get('type', 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop')
    budgeted = {*BUDGET_LOOPS.values(), *(name.partition('.')[2] for name in BUDGET_LOOPS.values())}
    if loop not in budgeted:
        if loop not in BUDGET_LOOPS:
            raise ValueError(
                f"--time-budget needs one of mmengine's training loops ({', '.join(BUDGET_LOOPS)}) or a budgeted one, "
                f'got train_cfg.type={loop!r}'
            )
        train_cfg['type'] = BUDGET_LOOPS[loop]
    train_cfg['time_budget_s'] = seconds
