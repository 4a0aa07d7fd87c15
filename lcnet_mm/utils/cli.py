"""What the tools share: loading a config with mmdet-style command-line overrides, for mmdet, mmpretrain
and mmseg configs alike (the toolbox is chosen by ``default_scope``), and the INT8 options of
``tools/benchmark.py`` and ``tools/quantize.py``."""

import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

TOOLBOXES = ('mmdet', 'mmpretrain', 'mmseg')


def toolbox_of(cfg: Config) -> str:
    """The toolbox a config belongs to, from its ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in TOOLBOXES:
        raise ValueError(
            f'config default_scope is {scope!r}; lcnet-mm tools run configs whose default_scope is one of {TOOLBOXES}'
        )
    return scope


def add_runner_arguments(parser: argparse.ArgumentParser, work_dir_help: str) -> None:
    """The options train.py and test.py share, spelled as in mmdet's tools."""
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=3 "model.backbone.scale=0.75"',
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_arguments(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))  # torch.distributed.launch style
    return args


def checkpoint_exists(checkpoint: str) -> bool:
    """Whether the local file or folder behind ``checkpoint`` exists; a ``paddle://``, ``timm://`` or ``hf://``
    path names one (converted on load, nothing downloaded)."""
    return os.path.exists(checkpoint.split('://', 1)[-1])


def load_config(config_path: str, cfg_options: Optional[dict] = None) -> Config:
    """The config at ``config_path`` with ``--cfg-options`` applied; a missing file is named."""
    if not osp.isfile(config_path):
        raise FileNotFoundError(f'config file {config_path!r} does not exist')
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_runner_config(
    config_path: str, work_dir: str = None, cfg_options: dict = None, launcher: str = 'none'
) -> Config:
    """Load ``config_path``, apply ``--cfg-options`` and resolve the work dir the way mmdet does:
    command line > config > ``./work_dirs/<config name>``."""
    cfg = load_config(config_path, cfg_options)
    toolbox_of(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    return cfg


def prepare_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA; change nothing where CUDA exists.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and its default DDP wrapper passes
    ``device_ids=[rank]``; both fail on a CPU. So without CUDA the gloo process group is started here
    (the Runner then skips ``init_dist``) and the model is wrapped without device ids.
    """
    import torch
    import torch.distributed as dist

    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')  # env:// set by torchrun / tools/dist_train.sh
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    cfg.setdefault('env_cfg', dict()).setdefault('dist_cfg', dict())['backend'] = 'gloo'


AMP_WRAPPERS = ('AmpOptimWrapper', 'CpuAmpOptimWrapper', 'lcnet_mm.CpuAmpOptimWrapper')
TRAINING_MODE_HOOKS = ('TrainingModeHook', 'lcnet_mm.TrainingModeHook')


def training_mode_hooks(cfg: Config) -> list:
    """The config dicts of every :class:`lcnet_mm.engine.TrainingModeHook` in ``default_hooks`` and ``custom_hooks``."""
    hooks = list((cfg.get('default_hooks') or {}).values()) + list(cfg.get('custom_hooks') or [])
    return [hook for hook in hooks if isinstance(hook, dict) and hook.get('type') in TRAINING_MODE_HOOKS]


def enable_amp(cfg: Config) -> None:
    """``--amp``: mmengine's ``AmpOptimWrapper`` (float16 with dynamic loss scaling) where CUDA is, and
    :class:`lcnet_mm.engine.CpuAmpOptimWrapper` (BF16 autocast, float32 where the CPU has no native BF16)
    on a CPU, where mmengine's refuses to run. An explicit choice: a ``TrainingModeHook`` of the config no
    longer measures the precision."""
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


def add_quantization_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calib`` and ``--keep-float``, the INT8 options; check them with :func:`check_quantization_arguments`."""
    from lcnet_mm.deploy import DEFAULT_KEEP_FLOAT

    parser.add_argument('--calib', type=int, default=100, help='INT8 calibration images from the validation set (100)')
    parser.add_argument(
        '--keep-float',
        nargs='+',
        default=list(DEFAULT_KEEP_FLOAT),
        metavar='RULE',
        help='layers INT8 keeps in float: stem, pooled, outputs, depthwise, module:REGEX, or none '
        f'(default: {" ".join(DEFAULT_KEEP_FLOAT)})',
    )


def check_quantization_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse bad INT8 options through ``parser.error``; ``--keep-float none`` becomes an empty list."""
    from lcnet_mm.deploy import check_keep_float

    if args.calib < 1:
        parser.error(f'--calib must be at least 1, got {args.calib}')
    args.keep_float = [] if args.keep_float == ['none'] else args.keep_float
    try:
        check_keep_float(args.keep_float)
    except ValueError as error:
        parser.error(str(error))
