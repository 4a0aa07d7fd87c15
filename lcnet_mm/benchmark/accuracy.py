"""Accuracy of a subject's checkpoint on its config's test set, with the toolbox's own runner and metric."""

import os.path as osp
from typing import Tuple

METRICS = {'mmdet': 'coco/bbox_mAP', 'mmpretrain': 'accuracy/top1', 'mmseg': 'mIoU'}


def evaluate(subject, work_dir: str) -> Tuple[str, float]:
    """(metric name, value) of ``subject.checkpoint`` on the test set of ``subject.config``: COCO bbox mAP
    for detectors, top-1 (%) for classifiers, mIoU (%) for segmentors. The data set is whatever the config
    names (the embedded synthetic sets generate themselves; real ones must be on disk)."""
    from mmengine.runner import Runner

    from lcnet_mm.utils import toolbox_of

    if subject.config is None or subject.checkpoint is None:
        raise ValueError(f'{subject.name}: accuracy needs a config and a checkpoint')
    cfg = subject.config.copy()
    toolbox = toolbox_of(cfg)
    cfg.load_from = subject.checkpoint
    cfg.work_dir = osp.join(work_dir, subject.file_name)
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    cfg.default_hooks.pop('visualization', None)
    metrics = Runner.from_cfg(cfg).test()
    key = METRICS[toolbox]
    if key not in metrics:
        raise KeyError(f'{subject.name}: the test metrics have no {key!r} (got {sorted(metrics)})')
    return key, float(metrics[key])
