"""Train a detector (mmdet config), a classifier (mmpretrain config) or a segmentor (mmseg config), with
mmdet's command line.

python tools/train.py configs/lcnet_fcos.py [--work-dir DIR] [--resume [CKPT]] [--amp] [--time-budget S]
                      [--auto-scale-lr] [--cfg-options KEY=VALUE ...] [--launcher pytorch]
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse

from mmengine.runner import Runner

from lcnet_mm.apis import (
    add_runner_arguments,
    build_checked_runner,
    build_runner_config,
    enable_amp,
    parse_runner_arguments,
    prepare_distributed,
    run_tool,
    set_time_budget,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector, a classifier or a segmentor')
    parser.add_argument('config', help='train config file path')
    add_runner_arguments(parser, work_dir_help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision: float16 with loss scaling on CUDA, BF16 autocast on a CPU that has native BF16',
    )
    parser.add_argument(
        '--time-budget',
        type=float,
        metavar='S',
        help='train within S seconds (validation not counted): the recipe where the machine is fast enough, its '
        'schedule compressed to the measured speed where not',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size (auto_scale_lr in the config)',
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or without a value from the latest checkpoint in the work dir',
    )
    return parse_runner_arguments(parser, argv)


def build_runner(argv=None) -> Runner:
    """The runner ``main`` trains: config, command-line options and checks applied, nothing run yet."""
    args = parse_args(argv)
    cfg = build_runner_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    prepare_distributed(cfg)

    if args.amp:
        enable_amp(cfg)

    if args.time_budget is not None:
        set_time_budget(cfg, args.time_budget)

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    return build_checked_runner(cfg, loaders=('train_dataloader', 'val_dataloader'))


def main(argv=None):
    build_runner(argv).train()


if __name__ == '__main__':
    run_tool(main)
