"""Drawing primitives shared by the synthetic detection and classification data sets.

Classes differ by shape, never by colour: every object and every distractor takes a random colour, and
the background is textured, so a model has to learn outlines rather than colour statistics.
"""

import math

import cv2
import numpy as np

SHAPES = ('circle', 'triangle', 'square', 'cross', 'star')


def shape_polygon(shape: str, center, size: float, angle: float) -> np.ndarray:
    """Vertices (N, 2) of ``shape`` whose circumscribed circle has diameter ``size``, rotated by
    ``angle`` (radians) around ``center``. Circles come as a 48-gon."""
    radius = size / 2
    if shape == 'circle':
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        unit = np.stack([np.cos(t), np.sin(t)], 1)
    elif shape == 'triangle':
        t = np.array([0, 2, 4]) * math.pi / 3 - math.pi / 2
        unit = np.stack([np.cos(t), np.sin(t)], 1)
    elif shape == 'square':
        t = np.array([1, 3, 5, 7]) * math.pi / 4
        unit = np.stack([np.cos(t), np.sin(t)], 1)
    elif shape == 'cross':
        a, b = 1 / math.sqrt(2), 0.28  # arm half-width b, arm end at distance ~1
        unit = (
            np.array(
                [
                    [b, a],
                    [b, b],
                    [a, b],
                    [a, -b],
                    [b, -b],
                    [b, -a],
                    [-b, -a],
                    [-b, -b],
                    [-a, -b],
                    [-a, b],
                    [-b, b],
                    [-b, a],
                ]
            )
            * math.sqrt(2)
            * 0.95
        )
    elif shape == 'star':
        t = np.arange(10) * math.pi / 5 - math.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        unit = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    else:
        raise ValueError(f'unknown shape {shape!r}; known: {SHAPES}')
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    if shape == 'circle':
        rotation = np.eye(2)
    return unit @ rotation.T * radius + np.asarray(center, dtype=np.float64)


def polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def random_color(rng: np.random.Generator, avoid=None, min_distance: float = 90.0):
    """A random BGR colour at least ``min_distance`` (Euclidean) away from ``avoid``."""
    for _ in range(50):
        color = rng.integers(0, 256, 3)
        if avoid is None or np.linalg.norm(color - np.asarray(avoid)) >= min_distance:
            break
    return tuple(int(c) for c in color)


def textured_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A colour gradient with one of several low-contrast textures and sensor-like noise."""
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, width if rng.random() < 0.5 else height)
    ramp = ramp[None, :, None] if len(ramp) == width else ramp[:, None, None]
    image = np.broadcast_to(c0 * (1 - ramp) + c1 * ramp, (height, width, 3)).astype(np.float32, order='C')
    texture = rng.integers(0, 4)
    if texture == 0:  # stripes at a random angle
        yy, xx = np.mgrid[0:height, 0:width]
        angle, period = rng.uniform(0, math.pi), rng.uniform(6, 30)
        wave = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
        image += wave[..., None] * rng.uniform(5, 25)
    elif texture == 1:  # checkerboard
        cell = int(rng.integers(8, 40))
        yy, xx = np.mgrid[0:height, 0:width]
        image += (((yy // cell + xx // cell) % 2) * 2 - 1)[..., None] * rng.uniform(5, 20)
    elif texture == 2:  # smooth blobs
        noise = rng.normal(0, 1, (max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
        image += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) * rng.uniform(5, 20)
    image += rng.normal(0, rng.uniform(2, 10), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_polygon(image: np.ndarray, points: np.ndarray, color, rng: np.random.Generator):
    """Fill a polygon, sometimes with an outline of another colour, anti-aliased."""
    pts = np.round(points * 16).astype(np.int32)[None]  # 4 bits of sub-pixel precision
    cv2.fillPoly(image, pts, color, lineType=cv2.LINE_AA, shift=4)
    if rng.random() < 0.3:
        cv2.polylines(image, pts, True, random_color(rng, color), 1, lineType=cv2.LINE_AA, shift=4)


def draw_distractor(image: np.ndarray, rng: np.random.Generator, letters: bool = True):
    """Clutter that is not an object: lines, arcs, dots, thin bars and scribbled letters (a line instead where
    ``letters`` is False: in a text data set, letters are objects)."""
    height, width = image.shape[:2]
    color = random_color(rng)
    kind = rng.integers(0, 5)
    if kind == 4 and not letters:
        kind = 0
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    if kind == 0:
        end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(image, (x, y), end, color, int(rng.integers(1, 4)), cv2.LINE_AA)
    elif kind == 1:
        axes = (int(rng.integers(8, 60)), int(rng.integers(8, 60)))
        start = int(rng.integers(0, 360))
        cv2.ellipse(image, (x, y), axes, 0, start, start + int(rng.integers(60, 200)), color, 2, cv2.LINE_AA)
    elif kind == 2:
        for _ in range(int(rng.integers(3, 12))):
            center = (x + int(rng.integers(-20, 21)), y + int(rng.integers(-20, 21)))
            cv2.circle(image, center, int(rng.integers(1, 4)), color, -1, cv2.LINE_AA)
    elif kind == 3:  # a thin bar: elongated, so never mistaken for a square
        length, thickness = rng.uniform(20, 90), rng.uniform(2, 5)
        angle = rng.uniform(0, math.pi)
        d = np.array([math.cos(angle), math.sin(angle)])
        n = np.array([-d[1], d[0]])
        c = np.array([x, y], dtype=np.float64)
        corners = np.stack(
            [
                c + d * length / 2 + n * thickness / 2,
                c + d * length / 2 - n * thickness / 2,
                c - d * length / 2 - n * thickness / 2,
                c - d * length / 2 + n * thickness / 2,
            ]
        )
        cv2.fillPoly(image, np.round(corners * 16).astype(np.int32)[None], color, cv2.LINE_AA, shift=4)
    else:
        text = ''.join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(2, 6))))
        cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.3, 0.8), color, 1, cv2.LINE_AA)
