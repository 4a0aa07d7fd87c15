"""Accuracy of a subject on its config's test set, with the toolbox's own data pipeline and metric: the
checkpoint through the toolbox's runner (:func:`evaluate`), or any runtime that computes the network's raw
outputs (:func:`evaluate_runtime`: an ONNX Runtime session, a quantized OpenVINO model, BF16 autocast).
Also the calibration images of post-training quantization, from the config's validation data."""

import copy
import os.path as osp
from typing import Callable, List, Tuple

import torch

# The metric a benchmark reports per toolbox: the first one the config's evaluator gives (an mmdet text
# detector's TextDetMetric gives the ICDAR Hmean, not a COCO mAP).
METRICS = {'mmdet': ('coco/bbox_mAP', 'icdar/hmean'), 'mmpretrain': ('accuracy/top1',), 'mmseg': ('mIoU',)}
# How far a low-precision path's accuracy may fall below eager fp32's before it is reported as a loss, per
# metric: top-1 and mIoU in points (%), bbox mAP and Hmean in their 0-1 scale.
ACCURACY_TOLERANCE = {'accuracy/top1': 1.0, 'coco/bbox_mAP': 0.01, 'icdar/hmean': 0.01, 'mIoU': 1.0}


def _runner_cfg(subject, work_dir: str):
    from lcnet_mm.builder import toolbox_of

    if subject.config is None:
        raise ValueError(f'{subject.name}: accuracy and calibration need a config with a test set')
    cfg = subject.config.copy()
    cfg.work_dir = osp.join(work_dir, subject.file_name)
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    cfg.default_hooks.pop('visualization', None)
    # Data in this process: persistent loader workers would outlive the evaluation and, idle, still slow
    # down the evaluations and timings that follow it (measured: 2-6x on 2 cores).
    cfg.test_dataloader = dict(cfg.test_dataloader, num_workers=0, persistent_workers=False)
    return cfg, toolbox_of(cfg)


def _metric(subject, toolbox: str, metrics: dict) -> Tuple[str, float]:
    for key in METRICS[toolbox]:
        if key in metrics:
            return key, float(metrics[key])
    raise KeyError(f'{subject.name}: the test metrics have none of {METRICS[toolbox]} (got {sorted(metrics)})')


def evaluate(subject, work_dir: str) -> Tuple[str, float]:
    """(metric name, value) of ``subject.checkpoint`` on the test set of ``subject.config``: COCO bbox mAP
    for detectors (ICDAR Hmean for text detectors), top-1 (%) for classifiers, mIoU (%) for segmentors. The
    data set is whatever the config names (the embedded synthetic sets generate themselves; real ones must be
    on disk)."""
    from mmengine.runner import Runner

    if subject.checkpoint is None:
        raise ValueError(f'{subject.name}: accuracy needs a checkpoint')
    cfg, toolbox = _runner_cfg(subject, work_dir)
    cfg.load_from = subject.checkpoint
    return _metric(subject, toolbox, Runner.from_cfg(cfg).test())


def evaluate_runtime(subject, run: Callable, work_dir: str) -> Tuple[str, float]:
    """(metric name, value) of ``run`` (images -> the raw outputs of ``subject.network``) on the config's
    test set: the toolbox's test dataloader and data preprocessor feed it, the model's own post-processing
    (:func:`lcnet_mm.deploy.predictions_from_outputs`) turns its outputs into predictions, the toolbox's
    evaluator scores them, as its test loop would."""
    from mmengine.runner import Runner

    from lcnet_mm.deploy import predictions_from_outputs

    cfg, toolbox = _runner_cfg(subject, work_dir)
    loop = Runner.from_cfg(cfg).test_loop  # builds the test dataloader and evaluator, nothing else
    model = subject.model
    for data in loop.dataloader:
        with torch.inference_mode():
            prepared = model.data_preprocessor(data, False)
            outputs = run(prepared['inputs'])
            samples = predictions_from_outputs(model, outputs, prepared['data_samples'])
        loop.evaluator.process(data_samples=samples, data_batch=data)
    return _metric(subject, toolbox, loop.evaluator.evaluate(len(loop.dataloader.dataset)))


def calibration_images(subject, num_images: int) -> List[torch.Tensor]:
    """The first ``num_images`` images of the config's validation set, one per batch, as the network takes
    them: the toolbox's test pipeline, then the model's data preprocessor (normalisation, padding)."""
    from mmengine.runner import Runner

    from lcnet_mm.builder import make_scope_current

    if num_images < 1:
        raise ValueError(f'calibration needs at least 1 image, got {num_images}')
    cfg, toolbox = _runner_cfg(subject, 'work_dirs')
    make_scope_current(toolbox)
    loader_cfg = copy.deepcopy(cfg.get('val_dataloader') or cfg.test_dataloader)
    # One image per batch: no padding to a neighbour's size, and runtimes calibrate on the real shapes.
    loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
    loader_cfg.pop('batch_sampler', None)
    loader = Runner.build_dataloader(loader_cfg)
    images = []
    with torch.inference_mode():
        for data in loader:
            images.append(subject.model.data_preprocessor(data, False)['inputs'])
            if len(images) == num_images:
                break
    return images
