"""TextDetMetric: precision / recall / Hmean at IoU 0.5 with one-to-one matching and "don't care" regions (the
ICDAR 2015 protocol), from mmdet data samples, built by name through mmdet's registry and run by mmengine's
Evaluator."""

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import PolygonMasks
from mmengine.structures import InstanceData

from lcnet_mm.evaluation import TextDetMetric, match_text_regions
from lcnet_mm.evaluation.text_det_metric import as_polygon

WORD_A = [10, 10, 110, 10, 110, 40, 10, 40]
WORD_B = [20, 60, 120, 70, 118, 95, 18, 85]
DONT_CARE = [150, 150, 190, 150, 190, 160, 150, 160]


def quad(flat, dx=0.0, dy=0.0):
    return (np.asarray(flat, dtype=np.float32).reshape(4, 2) + [dx, dy]).tolist()


def sample(predicted, scores=None, words=(WORD_A, WORD_B), ignored=(DONT_CARE,)):
    s = DetDataSample(metainfo=dict(ori_shape=(200, 200)))
    s.gt_instances = InstanceData(masks=PolygonMasks([[np.array(w, float)] for w in words], 200, 200))
    s.ignored_instances = InstanceData(masks=PolygonMasks([[np.array(w, float)] for w in ignored], 200, 200))
    quads = torch.tensor(predicted, dtype=torch.float32).reshape(-1, 4, 2)
    s.pred_instances = InstanceData(
        quads=quads, scores=torch.tensor(scores if scores is not None else [0.9] * len(quads), dtype=torch.float32)
    )
    return s


def evaluate(samples, **kwargs):
    from mmdet.registry import METRICS
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        evaluator = Evaluator(METRICS.build(dict(type='TextDetMetric', **kwargs)))
    evaluator.process([s.to_dict() for s in samples])
    return evaluator.evaluate(len(samples))


def test_exact_predictions_score_one_and_a_missed_word_halves_the_recall():
    assert evaluate([sample([quad(WORD_A), quad(WORD_B)])]) == {
        'icdar/precision': 1.0,
        'icdar/recall': 1.0,
        'icdar/hmean': 1.0,
    }
    result = evaluate([sample([quad(WORD_A, dx=3)])])
    assert result['icdar/precision'] == 1.0 and result['icdar/recall'] == 0.5
    assert result['icdar/hmean'] == pytest.approx(2 / 3)


def test_iou_at_or_below_a_half_is_no_match_and_each_word_matches_once():
    # shifted by 60 of 100 px: IoU 40 / 160 = 0.25
    assert match_text_regions([as_polygon(quad(WORD_A, dx=60))], [as_polygon(WORD_A)]) == (0, 1, 1)
    # two predictions on one word: one match, two counted predictions
    twice = [as_polygon(quad(WORD_A)), as_polygon(quad(WORD_A, dx=2))]
    assert match_text_regions(twice, [as_polygon(WORD_A)]) == (1, 2, 1)


def test_predictions_on_dont_care_regions_are_not_counted_and_counts_sum_over_images():
    on_dont_care = quad(DONT_CARE, dx=1)
    result = evaluate([sample([quad(WORD_A), on_dont_care]), sample([quad(WORD_B)], words=(WORD_B,))])
    # 2 of 2 counted predictions match; 2 of 3 words found
    assert result['icdar/precision'] == 1.0 and result['icdar/recall'] == pytest.approx(2 / 3)


def test_low_scored_predictions_are_dropped_by_pred_score_thr():
    result = evaluate([sample([quad(WORD_A), quad(WORD_B, dy=50)], scores=[0.9, 0.2])], pred_score_thr=0.5)
    assert result['icdar/precision'] == 1.0 and result['icdar/recall'] == 0.5


def test_bad_settings_and_missing_polygons_are_named():
    with pytest.raises(ValueError, match=r'match_iou_thr must be a number in \(0, 1\), got 1.5'):
        TextDetMetric(match_iou_thr=1.5)
    with pytest.raises(ValueError, match=r'pred_score_thr must be a number in \[0, 1\), got -0.1'):
        TextDetMetric(pred_score_thr=-0.1)
    boxes_only = sample([quad(WORD_A)])
    boxes_only.gt_instances = InstanceData(bboxes=torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r'poly2mask=False'):
        TextDetMetric().process([], [boxes_only.to_dict()])
