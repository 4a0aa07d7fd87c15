r"""Evaluate a checkpoint of a detector (mmdet config: COCO bbox mAP), a classifier (mmpretrain config:
top-1/top-5) or a segmentor (mmseg config: mIoU), with mmdet's command line.

    python tools/test.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best_coco_bbox_mAP_epoch_N.pth \
        [--work-dir DIR] [--out results.pkl] [--show-dir vis] [--cfg-options KEY=VALUE ...]
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import os

from lcnet_mm.apis import (
    add_runner_arguments,
    build_checked_runner,
    build_runner_config,
    checkpoint_exists,
    parse_runner_arguments,
    run_tool,
    toolbox_of,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_runner_arguments(parser, work_dir_help='the directory to save the evaluation metrics')
    parser.add_argument('--out', type=str, help='dump predictions to a pickle file (.pkl)')
    parser.add_argument('--show', action='store_true', help='show prediction results in a window')
    parser.add_argument(
        '--show-dir',
        help='directory where images with predictions drawn are saved: relative to WORK_DIR/TIMESTAMP, as in '
        'mmdet, unless absolute (mmseg configs: the masks go to SHOW_DIR/vis_data/vis_image, SHOW_DIR '
        'relative to WORK_DIR)',
    )
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    args = parse_runner_arguments(parser, argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, got {args.out!r}')
    if not checkpoint_exists(args.checkpoint):
        parser.error(f'checkpoint {args.checkpoint!r} does not exist')
    return args


def enable_visualization(cfg, toolbox: str, show: bool, show_dir: str, wait_time: float):
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir need default_hooks.visualization in the config')
    hook.show = show
    hook.wait_time = wait_time
    if toolbox == 'mmdet':  # DetVisualizationHook
        hook.draw = True
        if show_dir:
            hook.test_out_dir = show_dir
    elif toolbox == 'mmseg':  # SegVisualizationHook: draws every test image; its visualizer saves them
        hook.draw = True
        hook.interval = 1
        if show_dir:
            cfg.visualizer.save_dir = os.path.join(cfg.work_dir, show_dir)
    else:  # mmpretrain VisualizationHook: every sample (its default draws one in 5000)
        hook.enable = True
        hook.interval = 1


def main(argv=None):
    args = parse_args(argv)
    cfg = build_runner_config(args.config, args.work_dir, args.cfg_options, args.launcher)
    toolbox = toolbox_of(cfg)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, toolbox, args.show, args.show_dir, args.wait_time)

    runner = build_checked_runner(cfg, loaders=('test_dataloader',))
    if args.show_dir and toolbox == 'mmpretrain':
        # Same place as mmdet's DetVisualizationHook puts them: WORK_DIR/TIMESTAMP/SHOW_DIR.
        for hook in runner.hooks:
            if type(hook).__name__ == 'VisualizationHook':
                hook.out_dir = os.path.join(runner.work_dir, runner.timestamp, args.show_dir)
    if args.out:
        if toolbox == 'mmdet':
            from mmdet.evaluation import DumpDetResults

            runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=args.out))
        else:
            from mmengine.evaluator import DumpResults

            runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    run_tool(main)
