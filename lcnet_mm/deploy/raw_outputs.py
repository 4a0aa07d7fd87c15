"""A model's network as a function from an image batch to a flat tuple of tensors: what ONNX exports,
what benchmarks time, what parity checks compare.

- mmpretrain classifier: the logits (``mode='tensor'``), shape (N, num_classes).
- mmdet dense detector: the head's raw outputs per level, in the order of its ``predict_by_feat``
  arguments (FCOS: cls_scores, bbox_preds, score_factors), named ``<argument>.<level>``. Box decoding and
  NMS are :func:`decode_detections`, run on those tensors outside the network.
- mmseg segmentor: ``seg_logits`` (N, num_classes, H, W), the decode head's logits resized to the input
  image as mmseg's ``encode_decode`` does; the label map is their argmax over classes, outside the network.
- anything else (a backbone, a timm model): its output tensor(s).
"""

import inspect
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn


def model_kind(model: nn.Module) -> str:
    """'classifier', 'detector', 'segmentor' or 'module'."""
    from mmdet.models.detectors import BaseDetector
    from mmpretrain.models.classifiers import BaseClassifier
    from mmseg.models.segmentors import BaseSegmentor

    if isinstance(model, BaseClassifier):
        return 'classifier'
    if isinstance(model, BaseDetector):
        return 'detector'
    if isinstance(model, BaseSegmentor):
        return 'segmentor'
    return 'module'


def example_input(size: Sequence[int], batch_size: int = 1, seed: int = 0) -> torch.Tensor:
    """A normalised-looking random image batch (N, 3, H, W), the same for the same seed."""
    height, width = size
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, 3, height, width, generator=generator)


def _flatten(outputs) -> Tuple[torch.Tensor, ...]:
    if isinstance(outputs, torch.Tensor):
        return (outputs,)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    flat = []
    for item in outputs:
        flat.extend(_flatten(item))
    return tuple(flat)


def _check_exportable_detector(model: nn.Module):
    head = getattr(model, 'bbox_head', None)
    if head is None or hasattr(model, 'roi_head') or not hasattr(head, 'predict_by_feat'):
        raise ValueError(
            f'{type(model).__name__}: only single-stage (dense) detectors map to raw head outputs '
            "(FCOS, RetinaNet, ATSS, GFL, SSD ...); a two-stage detector's RoI stage needs the "
            'proposals of its first stage; benchmark its backbone alone '
            '(tools/benchmark.py --part backbone) instead'
        )


class RawOutputs(nn.Module):
    """Wrap ``model`` (in eval mode) so that ``forward(images)`` returns a flat tuple of tensors."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.kind = model_kind(model)
        if self.kind == 'detector':
            _check_exportable_detector(model)
        # A wrapper is built in training mode; exporters restore that mode onto the model afterwards.
        self.eval()

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.kind == 'classifier':
            return (self.model(images, mode='tensor'),)
        if self.kind == 'detector':
            return _flatten(self.model(images, mode='tensor'))
        if self.kind == 'segmentor':
            return (segmentation_logits(self.model, images),)
        return _flatten(self.model(images))

    def output_names(self, outputs: Sequence[torch.Tensor]) -> List[str]:
        if self.kind == 'classifier':
            return ['logits']
        if self.kind == 'segmentor':
            return ['seg_logits']
        if self.kind == 'detector':
            groups = detector_output_groups(self.model, len(outputs))
            return [f'{group}.{level}' for group in groups for level in range(len(outputs) // len(groups))]
        return [f'output.{i}' for i in range(len(outputs))]


def segmentation_logits(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """An mmseg ``EncoderDecoder``'s per-pixel logits at the size of ``images`` (what its ``encode_decode``
    computes, without the image metas that tracing cannot carry)."""
    import torch.nn.functional as F

    logits = model(images, mode='tensor')
    return F.interpolate(logits, size=images.shape[2:], mode='bilinear', align_corners=model.align_corners)


def detector_output_groups(model: nn.Module, num_outputs: int) -> List[str]:
    """The names of the groups of per-level tensors a dense head returns (its ``predict_by_feat`` args)."""
    prior_generator = getattr(model.bbox_head, 'prior_generator', None)  # a DB head has one map, no priors
    num_levels = len(prior_generator.strides) if prior_generator is not None else 1
    if num_outputs % num_levels:
        raise ValueError(f'{num_outputs} head outputs do not split into {num_levels} levels')
    params = [name for name in inspect.signature(model.bbox_head.predict_by_feat).parameters if name not in ('self',)]
    return params[: num_outputs // num_levels]


def model_outputs(model: nn.Module, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return RawOutputs(model)(images)


def _grouped(model: nn.Module, outputs: Sequence) -> list:
    tensors = [torch.as_tensor(output).float() for output in outputs]
    groups = detector_output_groups(model, len(tensors))
    per_group = len(tensors) // len(groups)
    return [tensors[i * per_group : (i + 1) * per_group] for i in range(len(groups))]


def decode_detections(model: nn.Module, outputs: Sequence, image_shape: Sequence[int]) -> list:
    """Box decoding and NMS of a dense detector's raw outputs (torch tensors or numpy arrays, in the order
    and grouping of :class:`RawOutputs`), with the config's ``test_cfg``: a list of InstanceData per image
    (``bboxes`` in input-image pixels, ``scores``, ``labels``)."""
    _check_exportable_detector(model)
    grouped = _grouped(model, outputs)
    height, width = image_shape
    metas = [
        dict(
            img_shape=(height, width),
            ori_shape=(height, width),
            pad_shape=(height, width),
            scale_factor=(1.0, 1.0),
            batch_input_shape=(height, width),
        )
    ] * grouped[0][0].shape[0]
    with torch.no_grad():
        return model.bbox_head.predict_by_feat(*grouped, batch_img_metas=metas, rescale=False)


def predictions_from_outputs(model: nn.Module, outputs: Sequence, data_samples: list) -> list:
    """The toolbox's predictions (its data samples, as ``model.predict`` fills them) from the raw outputs
    of ``RawOutputs(model)`` computed elsewhere (an ONNX runtime, a quantized graph) on a batch that
    ``model.data_preprocessor`` prepared: the same post-processing as the model's own ``predict``, so the
    toolbox's metric can score any runtime."""
    kind = model_kind(model)
    with torch.no_grad():
        if kind == 'classifier':
            return model.head._get_predictions(torch.as_tensor(outputs[0]).float(), data_samples)
        if kind == 'detector':
            _check_exportable_detector(model)
            metas = [sample.metainfo for sample in data_samples]
            results = model.bbox_head.predict_by_feat(*_grouped(model, outputs), batch_img_metas=metas, rescale=True)
            return model.add_pred_to_datasample(data_samples, results)
        if kind == 'segmentor':
            return model.postprocess_result(torch.as_tensor(outputs[0]).float(), data_samples)
    raise ValueError(f'{type(model).__name__} is not a classifier, detector or segmentor: no predictions to score')


def output_difference(outputs, reference) -> tuple:
    """(largest absolute difference, largest difference relative to each output's largest value where that
    exceeds 1); infinite when the outputs do not even have the same shapes. float32 rounding grows with the
    values, so outputs larger than 1 (a detector's box distances are in pixels) are judged relatively."""
    outputs = [torch.as_tensor(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    reference = [torch.as_tensor(r) for r in (reference if isinstance(reference, (list, tuple)) else [reference])]
    if len(outputs) != len(reference) or any(o.shape != r.shape for o, r in zip(outputs, reference)):
        return float('inf'), float('inf')
    diffs = [float((o.float() - r.float()).abs().max()) for o, r in zip(outputs, reference)]
    scaled = [d / max(1.0, float(r.abs().max())) for d, r in zip(diffs, reference)]
    return max(diffs), max(scaled)


def output_kind(name: str) -> str:
    """The kind of a named output: ``'cls_scores'`` for a detector's ``'cls_scores.2'`` (every level alike)."""
    stem, _, level = name.rpartition('.')
    return stem if stem and level.isdigit() else name


def differences_by_kind(outputs, reference, names: Sequence[str]) -> List[Dict]:
    """Per kind of output (a classifier's logits; a detector's cls_scores, bbox_preds, ... over all levels): the
    largest absolute difference, the largest absolute reference value (its scale) and their ratio (infinite where
    shapes differ). float32 rounding grows with the values, and their scale differs by kind and by training (a
    trained detector's logits reach tens, FCOS box distances hundreds of pixels), so a tolerance bounds the ratio."""
    rows = {}
    for name, output, expected in zip(names, outputs, reference):
        output, expected = torch.as_tensor(output).float(), torch.as_tensor(expected).float()
        row = rows.setdefault(output_kind(name), dict(kind=output_kind(name), max_abs_diff=0.0, scale=0.0))
        if output.shape != expected.shape:
            row['max_abs_diff'] = float('inf')
            continue
        row['max_abs_diff'] = max(row['max_abs_diff'], float((output - expected).abs().max()))
        row['scale'] = max(row['scale'], float(expected.abs().max()))
    if len(outputs) != len(reference):
        rows['outputs'] = dict(kind='outputs', max_abs_diff=float('inf'), scale=0.0)
    for row in rows.values():
        row['relative'] = row['max_abs_diff'] / max(row['scale'], 1e-12)
    return list(rows.values())
