"""From a DB probability map to text regions, as PaddleOCR's ``DBPostProcess`` does it: threshold the map, take
each connected region's minimum-area rectangle, score it by the mean probability inside, grow it back by the
shrink the targets applied (the "unclip", a polygon offset by shapely), and take the grown region's rectangle."""

from typing import List, NamedTuple, Tuple

import cv2
import numpy as np
from shapely.geometry import Polygon

from lcnet_mm.utils import check_int, check_positive_number


class TextRegions(NamedTuple):
    """``quads``: (N, 4, 2) float32 corner points (x, y) in the output image's pixels, clockwise from the top-left;
    ``scores``: (N,) mean probability inside each region before unclipping."""

    quads: np.ndarray
    scores: np.ndarray


def _min_area_quad(points: np.ndarray) -> Tuple[np.ndarray, float]:
    """The minimum-area rectangle around ``points`` as 4 corners (top-left first, clockwise) and its shorter side."""
    rect = cv2.minAreaRect(points.reshape(-1, 1, 2).astype(np.float32))
    corners = cv2.boxPoints(rect)
    corners = corners[np.argsort(corners[:, 0])]  # two left corners, then two right ones
    left, right = corners[:2], corners[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1])]
    top_right, bottom_right = right[np.argsort(right[:, 1])]
    return np.stack([top_left, top_right, bottom_right, bottom_left]), min(rect[1])


def _mean_inside(probability: np.ndarray, quad: np.ndarray) -> float:
    """Mean of ``probability`` inside the quadrilateral (over its bounding rectangle's pixels)."""
    height, width = probability.shape
    x0, y0 = np.clip(np.floor(quad.min(0)).astype(int), 0, [width - 1, height - 1])
    x1, y1 = np.clip(np.ceil(quad.max(0)).astype(int), 0, [width - 1, height - 1])
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(quad - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(probability[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def unclip(quad: np.ndarray, ratio: float) -> np.ndarray:
    """The region grown by ``area * ratio / perimeter`` (round joins): the inverse of the targets' shrink."""
    polygon = Polygon(quad)
    grown = polygon.buffer(polygon.area * ratio / polygon.length, join_style='round')
    if grown.is_empty or grown.geom_type != 'Polygon':
        return np.zeros((0, 2), dtype=np.float32)
    return np.asarray(grown.exterior.coords, dtype=np.float32)


def text_regions(
    probability: np.ndarray,
    output_size: Tuple[int, int],
    thresh: float = 0.3,
    box_thresh: float = 0.6,
    unclip_ratio: float = 1.5,
    max_candidates: int = 1000,
    min_size: int = 3,
) -> TextRegions:
    """Text regions of one (H, W) probability map, their corners scaled to ``output_size`` (height, width).

    Args:
        thresh: Pixels above it are text (PaddleOCR: 0.3).
        box_thresh: A region is kept where its mean probability is at least this (PaddleOCR's configs: 0.5-0.6).
        unclip_ratio: How far a region is grown back (1.5-2.0).
        max_candidates: At most this many connected regions are looked at.
        min_size: Regions whose rectangle has a shorter side below this (below ``min_size + 2`` after growing),
            in map pixels, are dropped.
    """
    if probability.ndim != 2:
        raise ValueError(f'text_regions takes one (H, W) probability map, got shape {probability.shape}')
    for value, name in ((thresh, 'thresh'), (box_thresh, 'box_thresh'), (unclip_ratio, 'unclip_ratio')):
        check_positive_number(value, f'DB post-processing {name}')
    check_int(max_candidates, 'DB post-processing max_candidates', minimum=1)
    height, width = probability.shape
    out_height, out_width = output_size
    scale = np.array([out_width / width, out_height / height], dtype=np.float32)
    bitmap = (probability > thresh).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads: List[np.ndarray] = []
    scores: List[float] = []
    for contour in contours[:max_candidates]:
        quad, short_side = _min_area_quad(contour)
        if short_side < min_size:
            continue
        score = _mean_inside(probability, quad)
        if score < box_thresh:
            continue
        grown = unclip(quad, unclip_ratio)
        if len(grown) == 0:
            continue
        quad, short_side = _min_area_quad(grown)
        if short_side < min_size + 2:
            continue
        quad = np.clip(np.round(quad * scale), 0, [out_width, out_height])
        quads.append(quad.astype(np.float32))
        scores.append(score)
    return TextRegions(
        np.stack(quads) if quads else np.zeros((0, 4, 2), dtype=np.float32), np.asarray(scores, dtype=np.float32)
    )
