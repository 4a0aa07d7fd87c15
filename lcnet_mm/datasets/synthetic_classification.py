"""A synthetic classification data set in mmpretrain's ``CustomDataset`` folder layout
(``split/<class>/<image>.png``), generated deterministically on first use.

One shape per image (the five classes of :mod:`.shapes`), at a random position, scale (35-90% of the
image), rotation and colour, on a textured background with a few distractors: the class is the shape,
never the colour or the place.
"""

import math
from pathlib import Path

import cv2
import numpy as np
from mmpretrain.datasets import CustomDataset

from lcnet_mm.registry import DATASETS
from lcnet_mm.utils import check_int
from .generate_once import GeneratedOnFirstUse
from .shapes import SHAPES, draw_distractor, draw_polygon, random_color, shape_polygon, textured_background

SPLIT_SEEDS = {'train': 10, 'val': 11, 'test': 12}


def render_classification_image(rng: np.random.Generator, shape: str, image_size: int) -> np.ndarray:
    image = textured_background(rng, image_size, image_size)
    for _ in range(int(rng.integers(0, 3))):
        draw_distractor(image, rng)
    size = rng.uniform(0.35, 0.9) * image_size
    center = rng.uniform(size / 2, image_size - size / 2, 2)
    polygon = shape_polygon(shape, center, size, rng.uniform(0, 2 * math.pi))
    draw_polygon(image, polygon, random_color(rng, avoid=image.reshape(-1, 3).mean(0), min_distance=120), rng)
    return image


def generate_classification_split(root: Path, params: dict):
    for shape in SHAPES:
        (root / shape).mkdir(parents=True)
    for index in range(params['num_images']):
        rng = np.random.default_rng([params['seed'], SPLIT_SEEDS[params['split']], index])
        shape = SHAPES[index % len(SHAPES)]  # balanced classes
        image = render_classification_image(rng, shape, params['image_size'])
        path = root / shape / f'{index:06d}.png'
        if not cv2.imwrite(str(path), image):
            raise OSError(f'could not write {path}')


@DATASETS.register_module()
class SyntheticShapesClassification(GeneratedOnFirstUse, CustomDataset):
    """mmpretrain's ``CustomDataset`` over a synthetic split generated on first use under
    ``data_root/split`` (see :mod:`lcnet_mm.datasets.generate_once`). Classes are the folder names, sorted:
    circle, cross, square, star, triangle.

    Args:
        split (str): 'train', 'val' or 'test' (independent random streams).
        num_images (int): Images in the split, balanced over the classes.
        image_size (int): Side of the square images.
        seed (int): Base seed; the same parameters always give the same files.
        data_root (str): Parent folder of the split folders.
        **kwargs: Everything else of ``CustomDataset`` (pipeline, test_mode, ...).
    """

    # The folder names, sorted, as CustomDataset would find them: known before the files exist (an inferencer
    # reads the classes of a data set built with lazy_init).
    METAINFO = dict(classes=tuple(sorted(SHAPES)))

    def __init__(
        self,
        split: str = 'train',
        num_images: int = 2000,
        image_size: int = 64,
        seed: int = 0,
        data_root: str = 'data/synthetic_shapes_cls',
        **kwargs,
    ):
        if split not in SPLIT_SEEDS:
            raise ValueError(f'SyntheticShapesClassification split must be one of {list(SPLIT_SEEDS)}, got {split!r}')
        check_int(num_images, 'SyntheticShapesClassification num_images', minimum=len(SHAPES))  # one per class
        check_int(image_size, 'SyntheticShapesClassification image_size', minimum=16)
        params = dict(version=1, split=split, num_images=num_images, image_size=image_size, seed=seed)
        root = Path(data_root).absolute() / split
        self.generation = (root, params, generate_classification_split)
        super().__init__(data_root=str(root), data_prefix='', with_label=True, **kwargs)
