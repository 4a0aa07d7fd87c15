"""DB post-processing: text regions from a probability map (threshold, rectangle, score, unclip)."""

import cv2
import numpy as np
import pytest

from lcnet_mm.models.dense_heads.db_postprocess import text_regions, unclip


def test_a_region_comes_back_grown_by_the_unclip_distance_and_scaled():
    probability = np.zeros((80, 160), dtype=np.float32)
    probability[30:50, 20:120] = 0.9  # 100 x 20 map pixels (the contour runs through pixel centres: 99 x 19)
    probability[5:15, 130:150] = 0.5  # below box_thresh: dropped
    probability[70:72, 10:40] = 0.9  # 2 pixels high: dropped
    regions = text_regions(probability, output_size=(320, 640), unclip_ratio=1.5)
    assert regions.quads.shape == (1, 4, 2) and regions.scores == pytest.approx([0.9])
    width, height = 99, 19
    distance = width * height * 1.5 / (2 * (width + height))  # area * ratio / perimeter
    (top_left, top_right, bottom_right, bottom_left) = regions.quads[0] / 4  # back to map pixels
    assert top_right[0] - top_left[0] == pytest.approx(width + 2 * distance, abs=0.6)
    assert bottom_left[1] - top_left[1] == pytest.approx(height + 2 * distance, abs=0.6)
    assert top_left == pytest.approx([20 - distance, 30 - distance], abs=0.6)


def test_a_rotated_region_gives_a_rotated_quad_and_scores_order_nothing():
    probability = np.zeros((100, 100), dtype=np.float32)
    corners = cv2.boxPoints(((50, 50), (60, 14), 30)).astype(np.int32)
    cv2.fillPoly(probability, [corners], 0.8)
    (quad,) = text_regions(probability, output_size=(100, 100)).quads
    edge = quad[1] - quad[0]
    assert abs(np.degrees(np.arctan2(edge[1], edge[0]))) == pytest.approx(30, abs=3)


def test_unclip_of_a_degenerate_region_is_empty():
    assert unclip(np.array([[0, 0], [10, 0], [10, 0], [0, 0]], dtype=np.float32), 1.5).shape == (0, 2)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(thresh=0), 'DB post-processing thresh'),
        (dict(unclip_ratio=-1), 'DB post-processing unclip_ratio'),
        (dict(max_candidates=0), 'DB post-processing max_candidates must be a positive int, got 0'),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        text_regions(np.zeros((8, 8), dtype=np.float32), (8, 8), **kwargs)
    with pytest.raises(ValueError, match=r'one \(H, W\) probability map, got shape \(1, 8, 8\)'):
        text_regions(np.zeros((1, 8, 8), dtype=np.float32), (8, 8))
