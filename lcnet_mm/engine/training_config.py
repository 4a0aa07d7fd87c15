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
