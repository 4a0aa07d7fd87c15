"""The targets of a DB head, from text polygons: the shrink map (each text region shrunk toward its centre, so that
touching words stay apart) and the threshold map (high on each region's border, fading over the shrink distance),
each with the mask of pixels it is defined on; as PaddleOCR's ``MakeShrinkMap`` and ``MakeBorderMap`` define them."""

from typing import NamedTuple, Sequence

import cv2
import numpy as np
from shapely.geometry import Polygon


class DBTargets(NamedTuple):
    shrink_map: np.ndarray  # 1 inside the shrunk regions
    shrink_mask: np.ndarray  # 0 on ignored and too small regions (not trained), 1 elsewhere
    threshold_map: np.ndarray  # thresh_min .. thresh_max, highest on region borders
    threshold_mask: np.ndarray  # 1 inside the grown regions (where the threshold map is trained)


def shrink_distance(polygon: Polygon, shrink_ratio: float) -> float:
    """DB's offset: ``area * (1 - r^2) / perimeter``."""
    return polygon.area * (1 - shrink_ratio**2) / polygon.length


def _fill(canvas: np.ndarray, polygon: Polygon, value: float):
    if polygon.is_empty or polygon.geom_type != 'Polygon':
        return False
    cv2.fillPoly(canvas, [np.round(np.asarray(polygon.exterior.coords)).astype(np.int32)], value)
    return True


def _segment_distances(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of every (x, y) to the segment a-b."""
    ab = b - a
    length = max(float(ab @ ab), 1e-12)
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length, 0, 1)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))


def db_targets(
    polygons: Sequence[np.ndarray],
    ignored: Sequence[bool],
    height: int,
    width: int,
    shrink_ratio: float = 0.4,
    min_text_size: int = 8,
    thresh_min: float = 0.3,
    thresh_max: float = 0.7,
) -> DBTargets:
    """The four target maps of one image of (``height``, ``width``) pixels for ``polygons`` ((K, 2) arrays of x, y
    points, K >= 3), those flagged in ``ignored`` (unreadable text) masked out of the shrink map's loss."""
    shrink_map = np.zeros((height, width), dtype=np.float32)
    shrink_mask = np.ones((height, width), dtype=np.float32)
    canvas = np.zeros((height, width), dtype=np.float32)
    threshold_mask = np.zeros((height, width), dtype=np.float32)
    for points, ignore in zip(polygons, ignored):
        points = np.asarray(points, dtype=np.float64)
        polygon = Polygon(points)
        size = min(np.ptp(points[:, 0]), np.ptp(points[:, 1]))
        if ignore or size < min_text_size or not polygon.is_valid or polygon.area < 1:
            _fill(shrink_mask, polygon if polygon.is_valid else polygon.buffer(0), 0)
            continue
        distance = shrink_distance(polygon, shrink_ratio)
        if not _fill(shrink_map, polygon.buffer(-distance, join_style='mitre'), 1):
            _fill(shrink_mask, polygon, 0)  # shrinks to nothing: not trained either way
            continue
        grown = polygon.buffer(distance, join_style='mitre')
        _fill(threshold_mask, grown, 1)
        # 1 on the border, 0 at the shrink distance from it (and beyond), inside the grown region's box
        x0, y0, x1, y1 = (int(round(v)) for v in grown.bounds)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
        if x1 < x0 or y1 < y0:
            continue
        ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1].astype(np.float64)
        nearest = np.min(
            [_segment_distances(xs, ys, a, b) for a, b in zip(points, np.roll(points, -1, axis=0))], axis=0
        )
        closeness = 1 - np.clip(nearest / distance, 0, 1)
        canvas[y0 : y1 + 1, x0 : x1 + 1] = np.maximum(canvas[y0 : y1 + 1, x0 : x1 + 1], closeness)
    threshold_map = canvas * (thresh_max - thresh_min) + thresh_min
    return DBTargets(shrink_map, shrink_mask, threshold_map.astype(np.float32), threshold_mask)
