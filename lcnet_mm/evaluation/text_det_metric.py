"""Precision, recall and Hmean of text detection under the ICDAR 2015 protocol (the one PaddleOCR's ``DetMetric``
and mmocr's ``HmeanIOUMetric`` report): a predicted region and a ground-truth region match when their polygons'
IoU exceeds 0.5, each at most once (greedy, in order); a prediction that lies mostly (> 0.5 of its area) inside an
ignored ("don't care") region is not counted at all."""

from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from shapely.geometry import Polygon

from lcnet_mm.registry import METRICS


def as_polygon(points) -> Polygon:
    """A valid shapely polygon of (K, 2) or flat [x0, y0, x1, ...] points (a self-crossing one made valid)."""
    polygon = Polygon(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    return polygon if polygon.is_valid else polygon.buffer(0)


def _area_of_intersection(a: Polygon, b: Polygon) -> float:
    return a.intersection(b).area if a.intersects(b) else 0.0


def match_text_regions(
    predicted: Sequence[Polygon],
    ground_truth: Sequence[Polygon],
    ignored: Sequence[Polygon] = (),
    match_iou_thr: float = 0.5,
    ignore_precision_thr: float = 0.5,
):
    """``(matched, counted predictions, ground-truth regions)`` of one image."""
    counted = [
        p
        for p in predicted
        if p.area > 0 and not any(_area_of_intersection(p, g) / p.area > ignore_precision_thr for g in ignored)
    ]
    matched_gt, matched = set(), 0
    for p in counted:
        for i, g in enumerate(ground_truth):
            if i in matched_gt:
                continue
            inter = _area_of_intersection(p, g)
            union = p.area + g.area - inter
            if union > 0 and inter / union > match_iou_thr:
                matched_gt.add(i)
                matched += 1
                break
    return matched, len(counted), len(ground_truth)


def _field(container, key: str):
    """``container[key]`` of a data sample or its fields, whether mmengine's evaluator gave them as data elements
    or (``to_dict()``) as dicts; None where absent."""
    if container is None:
        return None
    if isinstance(container, dict):
        return container.get(key)
    return container.get(key) if key in container else None


def _polygons(instances, what: str) -> List[Polygon]:
    masks = _field(instances, 'masks')
    if masks is None and (_field(instances, 'bboxes') is None or len(_field(instances, 'bboxes')) == 0):
        return []  # no instances at all
    if not hasattr(masks, 'masks'):
        raise ValueError(
            f'TextDetMetric needs the {what} text polygons (mmdet PolygonMasks): load them in the test pipeline with '
            "dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False)"
        )
    return [as_polygon(part) for parts in masks.masks for part in parts]


@METRICS.register_module()
class TextDetMetric(BaseMetric):
    """Text detection precision / recall / Hmean (ICDAR 2015 protocol), over the whole set (summed counts).

    Predictions are the ``pred_instances`` of mmdet data samples with ``quads`` (N, 4, 2), as ``DBHead`` gives them;
    the ground truth is ``gt_instances.masks`` and ``ignored_instances.masks`` (mmdet ``PolygonMasks`` at the original
    image size: ``LoadAnnotations(with_mask=True, poly2mask=False)`` after any resize in the test pipeline).

    Args:
        match_iou_thr (float): IoU above which a prediction matches a ground-truth region (0.5).
        ignore_precision_thr (float): Share of a prediction's area inside an ignored region above which it is not
            counted (0.5).
        pred_score_thr (float): Predictions scored below it are dropped first (0: all that post-processing kept).
        prefix (str): Prefix of the metric names (``icdar/hmean``).
    """

    default_prefix: Optional[str] = 'icdar'

    def __init__(
        self,
        match_iou_thr: float = 0.5,
        ignore_precision_thr: float = 0.5,
        pred_score_thr: float = 0.0,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ):
        super().__init__(collect_device=collect_device, prefix=prefix)
        for name, value, low in (
            ('match_iou_thr', match_iou_thr, 0),
            ('ignore_precision_thr', ignore_precision_thr, 0),
            ('pred_score_thr', pred_score_thr, None),
        ):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and (0 < value < 1 if low == 0 else 0 <= value < 1)):
                allowed = '(0, 1)' if low == 0 else '[0, 1)'
                raise ValueError(f'TextDetMetric {name} must be a number in {allowed}, got {value!r}')
        self.match_iou_thr = match_iou_thr
        self.ignore_precision_thr = ignore_precision_thr
        self.pred_score_thr = pred_score_thr

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            predictions = _field(sample, 'pred_instances')
            quads = _field(predictions, 'quads')
            if quads is None:
                raise ValueError('TextDetMetric needs pred_instances.quads (the predictions of a DBHead)')
            keep = np.asarray(_field(predictions, 'scores').cpu()) >= self.pred_score_thr
            self.results.append(
                match_text_regions(
                    [as_polygon(q) for q in np.asarray(quads.cpu())[keep]],
                    _polygons(_field(sample, 'gt_instances'), 'ground-truth'),
                    _polygons(_field(sample, 'ignored_instances'), 'ignored'),
                    self.match_iou_thr,
                    self.ignore_precision_thr,
                )
            )

    def compute_metrics(self, results: list) -> dict:
        matched, predicted, ground_truth = (sum(column) for column in zip(*results)) if results else (0, 0, 0)
        precision = matched / predicted if predicted else 0.0
        recall = matched / ground_truth if ground_truth else 0.0
        hmean = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return dict(precision=precision, recall=recall, hmean=hmean)
