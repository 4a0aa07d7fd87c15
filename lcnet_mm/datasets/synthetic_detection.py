"""A synthetic detection data set in COCO format, generated deterministically on first use.

Five shape classes (circle, triangle, square, cross, star) in random colours, 1-8 per image, 10-120 px,
rotated, partly overlapping, on textured backgrounds with distractor clutter (lines, arcs, dots, bars,
letters) that must not be detected; image sizes vary. The files are plain COCO (``instances.json`` with
boxes, areas and polygons, JPEG images), read by mmdet's own ``CocoDataset`` and scored by ``CocoMetric``.
"""

import json
import math
from pathlib import Path

import cv2
import numpy as np
from mmdet.datasets import CocoDataset

from lcnet_mm.registry import DATASETS
from lcnet_mm.utils import check_int
from .generate_once import GeneratedOnFirstUse
from .shapes import (
    SHAPES,
    draw_distractor,
    draw_polygon,
    polygon_area,
    random_color,
    shape_polygon,
    textured_background,
)

SPLIT_SEEDS = {'train': 0, 'val': 1, 'test': 2}
MAX_OVERLAP = 0.35  # of the smaller box: objects overlap partly, never hide each other


def render_detection_image(
    rng: np.random.Generator,
    image_size=(224, 288),
    object_size=(10, 120),
    objects_per_image=(1, 8),
    clutter_on_top: bool = True,
):
    """Return (BGR image, list of (class_index, polygon) in drawing order) for one random scene.

    ``clutter_on_top=False`` leaves out the distractors drawn over the objects, whose pixels would
    otherwise belong to no class in a per-pixel mask."""
    height, width = (int(v) for v in rng.integers(image_size[0], image_size[1] + 1, 2))
    image = textured_background(rng, height, width)
    for _ in range(int(rng.integers(1, 6))):
        draw_distractor(image, rng)

    wanted = int(rng.integers(objects_per_image[0], objects_per_image[1] + 1))
    objects, boxes = [], []
    for _ in range(wanted * 20):
        if len(objects) == wanted:
            break
        shape = int(rng.integers(len(SHAPES)))
        size = rng.uniform(object_size[0], object_size[1])
        size = min(size, min(height, width) - 4)
        center = rng.uniform([size / 2 + 1, size / 2 + 1], [width - size / 2 - 1, height - size / 2 - 1])
        polygon = shape_polygon(SHAPES[shape], center, size, rng.uniform(0, 2 * math.pi))
        box = np.concatenate([polygon.min(0), polygon.max(0)])
        if any(_overlap_of_smaller(box, other) > MAX_OVERLAP for other in boxes):
            continue
        x0, y0, x1, y1 = np.clip(box, 0, [width, height, width, height]).astype(int)
        local_mean = image[y0 : y1 + 1, x0 : x1 + 1].reshape(-1, 3).mean(0)
        draw_polygon(image, polygon, random_color(rng, avoid=local_mean, min_distance=120), rng)
        objects.append((shape, polygon))
        boxes.append(box)
    for _ in range(int(rng.integers(0, 2)) if clutter_on_top else 0):  # a little clutter on top, as in real scenes
        draw_distractor(image, rng)
    return image, objects


def _overlap_of_smaller(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / smaller


def generate_detection_split(root: Path, params: dict):
    """Write ``images/*.jpg`` and ``instances.json`` for one split into ``root``."""
    (root / 'images').mkdir(parents=True)
    images, annotations = [], []
    for index in range(params['num_images']):
        rng = np.random.default_rng([params['seed'], SPLIT_SEEDS[params['split']], index])
        image, objects = render_detection_image(
            rng, params['image_size'], params['object_size'], params['objects_per_image']
        )
        file_name = f'{index:06d}.jpg'
        if not cv2.imwrite(str(root / 'images' / file_name), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f'could not write {root / "images" / file_name}')
        images.append(dict(id=index + 1, file_name=file_name, height=image.shape[0], width=image.shape[1]))
        for shape, polygon in objects:
            x0, y0 = polygon.min(0)
            x1, y1 = polygon.max(0)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index + 1,
                    category_id=shape + 1,
                    iscrowd=0,
                    bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                    area=round(polygon_area(polygon), 2),
                    segmentation=[[round(float(v), 2) for v in polygon.reshape(-1)]],
                )
            )
    categories = [dict(id=i + 1, name=name, supercategory='shape') for i, name in enumerate(SHAPES)]
    (root / 'instances.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories))
    )


def scene_params(owner: str, split, num_images, seed, image_size, object_size, objects_per_image, version: int) -> dict:
    """The generation parameters of a split of the synthetic scenes (what its manifest records), checked;
    a bad value is a ValueError that names ``owner``'s argument and what is allowed."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f'{owner} split must be one of {list(SPLIT_SEEDS)}, got {split!r}')
    check_int(num_images, f'{owner} num_images', minimum=1)
    for name, value in (
        ('image_size', image_size),
        ('object_size', object_size),
        ('objects_per_image', objects_per_image),
    ):
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and 0 < value[0] <= value[1]):
            raise ValueError(f'{owner} {name} must be (min, max) with 0 < min <= max, got {value!r}')
    if object_size[1] > image_size[0] - 4:
        raise ValueError(
            f'{owner} object_size max {object_size[1]} does not fit the smallest image side {image_size[0]}'
        )
    return dict(
        version=version,
        split=split,
        num_images=num_images,
        seed=seed,
        image_size=image_size,
        object_size=object_size,
        objects_per_image=objects_per_image,
    )


@DATASETS.register_module()
class SyntheticShapesCoco(GeneratedOnFirstUse, CocoDataset):
    """mmdet's ``CocoDataset`` over a synthetic split that is generated on first use (its samples, not its metainfo).

    ``data_root/split`` receives ``images/`` and ``instances.json`` once; every later run, and every
    other process, reuses it (see :mod:`lcnet_mm.datasets.generate_once`). Everything after generation is
    plain ``CocoDataset``, so the evaluator is mmdet's ``CocoMetric`` with
    ``ann_file=data_root/split/instances.json``.

    Args:
        split (str): 'train', 'val' or 'test' (independent random streams).
        num_images (int): Images in the split.
        seed (int): Base seed; the same parameters always give the same files.
        image_size, object_size, objects_per_image (tuple): Inclusive (min, max) ranges.
        data_root (str): Parent folder of the split folders.
        **kwargs: Everything else of ``CocoDataset`` (pipeline, filter_cfg, test_mode, ...).
    """

    METAINFO = dict(classes=SHAPES, palette=[(220, 20, 60), (0, 160, 0), (30, 30, 230), (250, 170, 30), (160, 30, 200)])

    def __init__(
        self,
        split: str = 'train',
        num_images: int = 1000,
        seed: int = 0,
        image_size=(224, 288),
        object_size=(10, 120),
        objects_per_image=(1, 8),
        data_root: str = 'data/synthetic_shapes',
        **kwargs,
    ):
        params = scene_params(
            'SyntheticShapesCoco', split, num_images, seed, image_size, object_size, objects_per_image, version=3
        )
        root = Path(data_root).absolute() / split
        self.generation = (root, params, generate_detection_split)
        kwargs.setdefault('ann_file', 'instances.json')
        kwargs.setdefault('data_prefix', dict(img='images/'))
        super().__init__(data_root=str(root), **kwargs)
