"""What the tools' command lines share: mmdet-style runner options and config overrides for mmdet, mmpretrain
and mmseg configs alike (the toolbox is chosen by ``default_scope``), and the INT8 options of
``tools/benchmark.py`` and ``tools/quantize.py``."""

import argparse
import os
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction

from lcnet_mm.builder import load_config, toolbox_of
from lcnet_mm.io import DiskFullError, UnsafeWeightFileError, local_path
from lcnet_mm.utils import InputError

# What the tools print as one line: the input is wrong (or the disk full), and the message says what and where.
NAMED_ERRORS = (InputError, DiskFullError, UnsafeWeightFileError)
DEBUG_FLAG = '--debug'


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        DEBUG_FLAG, action='store_true', help='show the traceback of an input error, not only its one-line message'
    )


def run_tool(main: Callable[[], Optional[int]]) -> None:
    """Run a tool's ``main`` and exit with its status (0 where it returns something else, e.g. metrics). A
    named input error (:data:`NAMED_ERRORS`) is one ``error:`` line on stderr and exit status 2, the way argparse
    refuses an option; with ``--debug`` on the command line its traceback instead."""
    try:
        status = main()
    except NAMED_ERRORS as error:
        if DEBUG_FLAG in sys.argv[1:]:
            raise
        print(f'error: {error}', file=sys.stderr)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)


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
    add_debug_argument(parser)


def parse_runner_arguments(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))  # torch.distributed.launch style
    return args


def checkpoint_exists(checkpoint: str) -> bool:
    """Whether the local file or folder behind ``checkpoint`` exists (behind a local scheme such as ``paddle://``:
    the file it converts on load)."""
    return os.path.exists(local_path(checkpoint))


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


def add_quantization_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calib`` and ``--keep-float``, the INT8 options; check them with :func:`check_quantization_arguments`."""
    from lcnet_mm.deploy import DEFAULT_KEEP_FLOAT, keep_float_help

    parser.add_argument('--calib', type=int, default=100, help='INT8 calibration images from the validation set (100)')
    parser.add_argument(
        '--keep-float',
        nargs='+',
        default=list(DEFAULT_KEEP_FLOAT),
        metavar='RULE',
        help=f'layers INT8 keeps in float: {keep_float_help()}; or none (default: {" ".join(DEFAULT_KEEP_FLOAT)})',
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
