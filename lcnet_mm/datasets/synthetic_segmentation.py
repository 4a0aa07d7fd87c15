"""A synthetic semantic-segmentation data set in mmseg's folder layout, generated on first use.

The scenes of the detection set (:mod:`lcnet_mm.datasets.synthetic_detection`: five shape classes in
random colours, 10-120 px, rotated, touching or partly overlapping, on textured backgrounds) with a
per-pixel label map: 0 is the background, which includes every distractor (lines, arcs, dots, thin
bars, letters), and ``1 + shape`` each shape, the later-drawn object winning where two overlap. The
thin parts (the star's points, the cross's arms) and the distractors that look like parts (bars,
arcs) are what separates a good segmenter from a blob detector.

Files: ``data_root/img_dir/<split>/*.jpg`` and ``data_root/ann_dir/<split>/*.png`` (the layout of
mmseg's custom-data set docs), read by mmseg's ``BaseSegDataset`` and scored by its ``IoUMetric``.
"""

import shutil
from pathlib import Path

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset

from lcnet_mm.registry import DATASETS
from .generate_once import GeneratedOnFirstUse, ensure_generated
from .shapes import SHAPES
from .synthetic_detection import SPLIT_SEEDS, render_detection_image, scene_params

SEGMENTATION_CLASSES = ('background', *SHAPES)


def render_segmentation_image(rng: np.random.Generator, image_size, object_size, objects_per_image):
    """Return (BGR image, uint8 label map) for one random scene."""
    image, objects = render_detection_image(rng, image_size, object_size, objects_per_image, clutter_on_top=False)
    labels = np.zeros(image.shape[:2], np.uint8)
    for shape, polygon in objects:  # drawing order: a later object covers an earlier one, as in the image
        cv2.fillPoly(labels, np.round(polygon * 16).astype(np.int32)[None], 1 + shape, cv2.LINE_8, shift=4)
    return image, labels


def generate_segmentation_split(root: Path, params: dict):
    """Write ``images/*.jpg`` and ``labels/*.png`` for one split into ``root`` (a staging folder)."""
    for folder in ('images', 'labels'):
        (root / folder).mkdir(parents=True)
    for index in range(params['num_images']):
        rng = np.random.default_rng([params['seed'], SPLIT_SEEDS[params['split']], index, 1])
        image, labels = render_segmentation_image(
            rng, params['image_size'], params['object_size'], params['objects_per_image']
        )
        for path, array, flags in (
            (root / 'images' / f'{index:06d}.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95]),
            (root / 'labels' / f'{index:06d}.png', labels, []),
        ):
            if not cv2.imwrite(str(path), array, flags):
                raise OSError(f'could not write {path}')


def _link_split(data_root: Path, split: str, generated: Path):
    """Expose the generated split at mmseg's ``img_dir/<split>`` and ``ann_dir/<split>`` as symlinks
    into the generated folder (replaced atomically when the split is regenerated)."""
    for layout_dir, folder in (('img_dir', 'images'), ('ann_dir', 'labels')):
        link = data_root / layout_dir / split
        link.parent.mkdir(parents=True, exist_ok=True)
        target = Path('..') / generated.name / folder
        if link.is_symlink() and Path(link.readlink()) == target:
            continue
        tmp = link.with_name(f'.{split}.link-{np.random.default_rng().integers(1 << 30)}')
        tmp.symlink_to(target, target_is_directory=True)
        if link.exists() and not link.is_symlink():
            shutil.rmtree(link)
        tmp.replace(link)  # rename over the old link: readers never see a missing split


@DATASETS.register_module()
class SyntheticShapesSegmentation(GeneratedOnFirstUse, BaseSegDataset):
    """mmseg's ``BaseSegDataset`` over a synthetic split that is generated on first use.

    The split is rendered once into ``data_root/.<split>/`` (atomically, across processes: see
    :mod:`lcnet_mm.datasets.generate_once`) and appears at ``img_dir/<split>`` and ``ann_dir/<split>``; every
    later run reuses it. Everything after generation is plain ``BaseSegDataset`` (``.jpg`` images,
    ``.png`` label maps, 6 classes, background included), so the evaluator is mmseg's ``IoUMetric``.

    Args:
        split (str): 'train', 'val' or 'test' (independent random streams).
        num_images (int): Images in the split.
        seed (int): Base seed; the same parameters always give the same files.
        image_size, object_size, objects_per_image (tuple): Inclusive (min, max) ranges, as in
            :class:`SyntheticShapesCoco`.
        data_root (str): Root of the ``img_dir`` / ``ann_dir`` layout.
        **kwargs: Everything else of ``BaseSegDataset`` (pipeline, test_mode, ...).
    """

    METAINFO = dict(
        classes=SEGMENTATION_CLASSES,
        palette=[(0, 0, 0), (220, 20, 60), (0, 160, 0), (30, 30, 230), (250, 170, 30), (160, 30, 200)],
    )

    def __init__(
        self,
        split: str = 'train',
        num_images: int = 1000,
        seed: int = 0,
        image_size=(224, 288),
        object_size=(10, 120),
        objects_per_image=(1, 8),
        data_root: str = 'data/synthetic_shapes_seg',
        **kwargs,
    ):
        owner = type(self).__name__
        params = scene_params(owner, split, num_images, seed, image_size, object_size, objects_per_image, version=1)
        root = Path(data_root).absolute()
        self.generation = (root / f'.{split}', params, generate_segmentation_split)
        self.split = split
        kwargs.setdefault('data_prefix', dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'))
        kwargs.setdefault('img_suffix', '.jpg')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('reduce_zero_label', False)
        super().__init__(data_root=str(root), **kwargs)

    def generate_files(self) -> None:
        _link_split(Path(self.data_root), self.split, ensure_generated(*self.generation))
