"""A synthetic scene-text detection data set in COCO format, generated deterministically on first use.

Words and short lines of random letters and digits, rendered with the TrueType fonts that ship with matplotlib
(sans, serif, mono, bold, oblique, TeX's Computer Modern), 11-40 px high, mostly level and some rotated up to 40
degrees, in colours that stand out from their surroundings, on the textured backgrounds of the shape sets with
clutter (lines, arcs, dots, bars) that is not text. Each word's label is the rotated rectangle around its glyphs: a
4-point polygon (``segmentation``) with its box. Tiny words (under 10 px) are labelled ``iscrowd=1``: mmdet gives
them as ``ignored_instances``, the DB loss leaves them out and the ICDAR metric does not count them, as ICDAR 2015's
"###" regions. Read by mmdet's own ``CocoDataset``; the metric is :class:`lcnet_mm.evaluation.TextDetMetric`.
"""

import json
from pathlib import Path

import cv2
import numpy as np
from mmdet.datasets import CocoDataset
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon

from lcnet_mm.registry import DATASETS
from lcnet_mm.utils import check_int
from .generate_once import GeneratedOnFirstUse
from .shapes import draw_distractor, polygon_area, textured_background

SPLIT_SEEDS = {'train': 0, 'val': 1, 'test': 2}
FONTS = (
    'DejaVuSans.ttf',
    'DejaVuSans-Bold.ttf',
    'DejaVuSans-Oblique.ttf',
    'DejaVuSansMono.ttf',
    'DejaVuSerif.ttf',
    'DejaVuSerif-Bold.ttf',
    'STIXGeneral.ttf',
    'cmss10.ttf',
    'cmtt10.ttf',
)
CHARACTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
IGNORED_BELOW = 10  # px of text height: labelled iscrowd (unreadable), as ICDAR's "###"
GAP = 4  # px kept free around every word, so that shrunk regions of neighbours never touch


def font_files():
    """The fonts' paths (matplotlib's data folder), in the order of :data:`FONTS`; a missing one is an error."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / 'fonts' / 'ttf'
    missing = [name for name in FONTS if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f'the fonts {missing} are not in {folder} (matplotlib ships them): reinstall matplotlib'
        )
    return [str(folder / name) for name in FONTS]


def _random_text(rng: np.random.Generator) -> str:
    words = [
        ''.join(CHARACTERS[int(i)] for i in rng.integers(0, len(CHARACTERS), int(rng.integers(2, 9))))
        for _ in range(1 if rng.random() < 0.7 else 2)
    ]
    if rng.random() < 0.5:  # many real words are lower case or capitalised
        words = [w.lower() if rng.random() < 0.5 else w.capitalize() for w in words]
    return ' '.join(words)


def _glyph_mask(text: str, font_path: str, height_px: int):
    """An 8-bit coverage mask of ``text`` and the (x0, y0, x1, y1) box of its inked pixels."""
    font = ImageFont.truetype(font_path, size=max(4, int(round(height_px * 1.3))))
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new('L', (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), text, fill=255, font=font)
    mask = np.asarray(canvas)
    ys, xs = np.nonzero(mask > 64)
    if len(xs) == 0:
        return mask, None
    return mask, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def render_text_image(rng: np.random.Generator, fonts, image_size=(256, 352), text_height=(11, 40), words=(2, 8)):
    """Return (BGR image, list of (4x2 polygon, ignored)) for one random scene."""
    height, width = (int(v) for v in rng.integers(image_size[0], image_size[1] + 1, 2))
    image = textured_background(rng, height, width).astype(np.float32)
    canvas = image.astype(np.uint8)
    for _ in range(int(rng.integers(1, 6))):
        draw_distractor(canvas, rng, letters=False)
    image = canvas.astype(np.float32)

    wanted = int(rng.integers(words[0], words[1] + 1))
    placed, labels = [], []
    for _ in range(wanted * 10):
        if len(labels) == wanted:
            break
        size = rng.uniform(*text_height) if rng.random() > 0.1 else rng.uniform(6, IGNORED_BELOW)
        mask, ink = _glyph_mask(_random_text(rng), fonts[int(rng.integers(len(fonts)))], size)
        if ink is None:
            continue
        angle = 0.0 if rng.random() < 0.5 else (rng.uniform(-12, 12) if rng.random() < 0.6 else rng.uniform(-40, 40))
        x0, y0, x1, y1 = ink
        pad = max(1.0, 0.08 * (y1 - y0))  # the label hugs the glyphs with a little margin
        corners = np.array([[x0 - pad, y0 - pad], [x1 + pad, y0 - pad], [x1 + pad, y1 + pad], [x0 - pad, y1 + pad]])
        # rotate about the text's centre, then move it to a random place that keeps every corner inside the image
        centre = corners.mean(0)
        rotation = cv2.getRotationMatrix2D(tuple(float(c) for c in centre), angle, 1.0)
        rotated = corners @ rotation[:, :2].T + rotation[:, 2]
        low, high = rotated.min(0), rotated.max(0)
        if np.any(high - low >= [width - 2, height - 2]):
            continue
        offset = rng.uniform([1 - low[0], 1 - low[1]], [width - 1 - high[0], height - 1 - high[1]])
        polygon = rotated + offset
        shape = Polygon(polygon)
        if any(shape.distance(other) < GAP for other in placed):
            continue
        rotation[:, 2] += offset
        coverage = cv2.warpAffine(mask, rotation, (width, height), flags=cv2.INTER_LINEAR).astype(np.float32) / 255
        region = coverage > 0
        local_mean = image[region].mean(0) if region.any() else image.reshape(-1, 3).mean(0)
        color = _contrasting_color(rng, local_mean)
        image += coverage[..., None] * (color - image)
        placed.append(shape)
        labels.append((polygon, size < IGNORED_BELOW))
    return np.clip(image, 0, 255).astype(np.uint8), labels


def _contrasting_color(rng: np.random.Generator, background) -> np.ndarray:
    """A random colour whose brightness differs from the background's by at least 90 (of 255)."""
    brightness = float(np.mean(background))
    for _ in range(50):
        color = rng.integers(0, 256, 3).astype(np.float32)
        if abs(color.mean() - brightness) >= 90:
            return color
    return np.full(3, 0.0 if brightness > 127 else 255.0, dtype=np.float32)


def generate_text_split(root: Path, params: dict):
    """Write ``images/*.jpg`` and ``instances.json`` (category 'text', quadrilaterals) for one split into ``root``."""
    (root / 'images').mkdir(parents=True)
    fonts = font_files()
    images, annotations = [], []
    for index in range(params['num_images']):
        rng = np.random.default_rng([params['seed'], SPLIT_SEEDS[params['split']], index])
        image, labels = render_text_image(rng, fonts, params['image_size'], params['text_height'], params['words'])
        file_name = f'{index:06d}.jpg'
        if not cv2.imwrite(str(root / 'images' / file_name), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f'could not write {root / "images" / file_name}')
        images.append(dict(id=index + 1, file_name=file_name, height=image.shape[0], width=image.shape[1]))
        for polygon, ignored in labels:
            (x0, y0), (x1, y1) = polygon.min(0), polygon.max(0)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index + 1,
                    category_id=1,
                    iscrowd=int(ignored),
                    bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                    area=round(polygon_area(polygon), 2),
                    segmentation=[[round(float(v), 2) for v in polygon.reshape(-1)]],
                )
            )
    categories = [dict(id=1, name='text', supercategory='text')]
    content = dict(images=images, annotations=annotations, categories=categories)
    (root / 'instances.json').write_text(json.dumps(content))


@DATASETS.register_module()
class SyntheticTextCoco(GeneratedOnFirstUse, CocoDataset):
    """mmdet's ``CocoDataset`` over a synthetic scene-text split generated on first use (one class, 'text').

    Load the polygons with ``LoadAnnotations(with_bbox=True, with_mask=True, poly2mask=False)``: the DB head trains
    from them and :class:`~lcnet_mm.evaluation.TextDetMetric` scores against them.

    Args:
        split (str): 'train', 'val' or 'test' (independent random streams).
        num_images (int): Images in the split.
        seed (int): Base seed; the same parameters always give the same files.
        image_size (tuple): Inclusive (min, max) side of the images in px.
        text_height (tuple): Inclusive (min, max) height of the readable words in px.
        words (tuple): Inclusive (min, max) words per image (fewer where they do not fit).
        data_root (str): Parent folder of the split folders.
        **kwargs: Everything else of ``CocoDataset`` (pipeline, filter_cfg, test_mode, ...).
    """

    METAINFO = dict(classes=('text',), palette=[(255, 60, 0)])

    def __init__(
        self,
        split: str = 'train',
        num_images: int = 1000,
        seed: int = 0,
        image_size=(256, 352),
        text_height=(11, 40),
        words=(2, 8),
        data_root: str = 'data/synthetic_text',
        **kwargs,
    ):
        owner = 'SyntheticTextCoco'
        if split not in SPLIT_SEEDS:
            raise ValueError(f'{owner} split must be one of {list(SPLIT_SEEDS)}, got {split!r}')
        check_int(num_images, f'{owner} num_images', minimum=1)
        for name, value in (('image_size', image_size), ('text_height', text_height), ('words', words)):
            if not (isinstance(value, (list, tuple)) and len(value) == 2 and 0 < value[0] <= value[1]):
                raise ValueError(f'{owner} {name} must be (min, max) with 0 < min <= max, got {value!r}')
        if text_height[1] * 2 > image_size[0]:
            raise ValueError(
                f'{owner} text_height max {text_height[1]} must be at most half the smallest side {image_size[0]}'
            )
        params = dict(
            version=1,
            split=split,
            num_images=num_images,
            seed=seed,
            image_size=image_size,
            text_height=text_height,
            words=words,
            fonts=list(FONTS),
        )
        root = Path(data_root).absolute() / split
        self.generation = (root, params, generate_text_split)
        kwargs.setdefault('ann_file', 'instances.json')
        kwargs.setdefault('data_prefix', dict(img='images/'))
        super().__init__(data_root=str(root), **kwargs)
