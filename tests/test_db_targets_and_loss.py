"""DB training targets from polygons and the DB loss."""

import numpy as np
import pytest
import torch

from lcnet_mm.models.dense_heads.db_targets import db_targets
from lcnet_mm.models.losses.db_loss import DBLoss, balanced_bce

RECTANGLE = np.array([[20, 30], [120, 30], [120, 70], [20, 70]], dtype=np.float32)  # 100 x 40


def test_shrink_and_threshold_maps_of_a_rectangle():
    targets = db_targets([RECTANGLE], [False], 100, 160)
    distance = 100 * 40 * (1 - 0.4**2) / 280  # area * (1 - r^2) / perimeter = 12
    ys, xs = np.nonzero(targets.shrink_map)
    assert xs.min() == pytest.approx(20 + distance, abs=1) and xs.max() == pytest.approx(120 - distance, abs=1)
    assert ys.min() == pytest.approx(30 + distance, abs=1) and ys.max() == pytest.approx(70 - distance, abs=1)
    assert targets.shrink_mask.min() == 1  # nothing ignored
    # the threshold map: thresh_max on the border, thresh_min at the shrink distance and outside the grown region
    assert targets.threshold_map[30, 70] == pytest.approx(0.7) and targets.threshold_map[50, 70] == pytest.approx(0.3)
    assert targets.threshold_map[30 + 6, 70] == pytest.approx(0.3 + 0.4 * 0.5, abs=0.01)  # halfway
    assert targets.threshold_mask[30 - 11, 70] == 1 and targets.threshold_mask[30 - 14, 70] == 0


def test_ignored_and_small_regions_are_masked_out_not_targets():
    small = RECTANGLE * [1, 0.1] + [0, 80]  # 4 pixels high: below min_text_size
    targets = db_targets([RECTANGLE, small], [True, False], 100, 160)
    assert targets.shrink_map.max() == 0 and targets.threshold_mask.max() == 0
    assert targets.shrink_mask[50, 70] == 0 and targets.shrink_mask[84, 70] == 0 and targets.shrink_mask[5, 5] == 1


def test_db_loss_is_small_for_the_targets_and_large_for_their_opposite():
    targets = db_targets([RECTANGLE], [False], 100, 160)
    shrink, shrink_mask, threshold, threshold_mask = (torch.from_numpy(t)[None] for t in targets)
    loss = DBLoss()

    def total(probability, threshold_pred):
        binary = torch.sigmoid(50 * (probability - threshold_pred))
        maps = [m[:, None] for m in (probability, threshold_pred, binary)]
        return loss(maps, shrink, shrink_mask, threshold, threshold_mask)

    right = total(shrink.clamp(0.01, 0.99), threshold)
    wrong = total((1 - shrink).clamp(0.01, 0.99), 1 - threshold)
    assert set(right) == {'loss_probability', 'loss_threshold', 'loss_binary'}
    assert sum(right.values()) < 0.2 < 5 < sum(wrong.values())
    prediction = torch.full_like(shrink, 0.5, requires_grad=True)
    balanced_bce(prediction, shrink, shrink_mask).backward()
    assert prediction.grad.abs().sum() > 0


def test_hard_negatives_are_three_per_positive():
    target = torch.zeros(1, 10, 10)
    target[0, 0, :2] = 1  # 2 positives
    prediction = torch.full((1, 10, 10), 0.1)
    prediction[0, 5, :6] = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # the hardest negatives
    mask = torch.ones(1, 10, 10)
    loss = balanced_bce(prediction, target, mask)
    bce = torch.nn.functional.binary_cross_entropy
    expected = (
        bce(torch.tensor([0.1, 0.1]), torch.ones(2), reduction='sum')
        + bce(torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), torch.zeros(6), reduction='sum')
    ) / 8
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
