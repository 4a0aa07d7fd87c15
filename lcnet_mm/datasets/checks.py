"""Checks of a data set on disk, before training: every problem named with its file (and index) and what
is wrong, instead of a traceback from PIL, cv2 or pycocotools mid-epoch, or a box the toolbox drops
without a word.

- :func:`check_annotation_file`: a COCO JSON file exists, is not empty, is JSON, has the COCO lists.
  :func:`check_annotation_files` runs it on a config's files from ``tools/train.py`` / ``tools/test.py``
  before the runner is built (a toolbox's data set would otherwise stop inside pycocotools' ``json.load``).
- :func:`check_coco_annotations`: boxes with zero, negative or non-finite size, boxes outside their
  image, unknown category or image ids (mmdet drops such boxes silently); polygons with fewer than 3 points or
  points outside their image.
- :func:`check_image_file`: missing, empty, not an image, truncated (PNG and JPEG end markers checked;
  other formats decoded).
- :func:`check_dataset`: all of the above for a built mmdet / mmpretrain / mmseg data set (wrappers too),
  plus class labels in range and segmentation label maps whose values are classes or the ignore index.
"""

import functools
import json
import math
import os
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np

from lcnet_mm.io import is_url
from lcnet_mm.utils import InputError

PNG_START, PNG_END = b'\x89PNG\r\n\x1a\n', b'IEND\xaeB`\x82'
JPEG_START, JPEG_END = b'\xff\xd8', b'\xff\xd9'
BOX_TOLERANCE = 1.0  # px a box may reach past its image's border (rounding in real annotation tools)
SHOWN = 10


class DataSetError(InputError):
    """A data set on disk has problems; the message lists them (file, index, what)."""

    def __init__(self, what: str, problems: List[str], hint: str = 'Fix or remove them.'):
        self.problems = problems
        more = f' (the first {SHOWN} shown)' if len(problems) > SHOWN else ''
        super().__init__(f'{what}: {len(problems)} problem(s){more}:\n  ' + '\n  '.join(problems[:SHOWN]) + f'\n{hint}')


def check_image_file(path) -> Optional[str]:
    """What is wrong with an image file, or None. Reads its first and last bytes (decodes other formats)."""
    path = Path(path)
    if not path.is_file():
        return 'missing'
    size = path.stat().st_size
    if size == 0:
        return 'empty file'
    with path.open('rb') as f:
        head = f.read(16)
        f.seek(max(0, size - 64))
        tail = f.read()
    if head.startswith(PNG_START):
        return None if tail.endswith(PNG_END) else f'truncated PNG ({size} bytes, no IEND chunk at the end)'
    if head.startswith(JPEG_START):
        return None if JPEG_END in tail else f'truncated JPEG ({size} bytes, no end-of-image marker)'
    if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
        return f'not an image that OpenCV reads (first bytes {head[:8]!r})'
    return None


def check_annotation_file(path) -> dict:
    """Load a COCO-style JSON annotation file, or raise a :class:`DataSetError` that says what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise DataSetError(f'annotation file {path}', ['missing'])
    text = path.read_text(errors='replace')
    if not text.strip():
        raise DataSetError(f'annotation file {path}', ['empty file'])
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataSetError(f'annotation file {path}', [f'not JSON: {error}']) from None
    keys = ('images', 'annotations', 'categories')
    missing = [k for k in keys if not isinstance(content.get(k), list)] if isinstance(content, dict) else keys
    if missing:
        raise DataSetError(f'annotation file {path}', [f'not a COCO annotation file: no list {missing}'])
    return content


def _annotation_files(dataset_cfg):
    """The JSON annotation files a data set config (or a wrapper's) reads."""
    if not isinstance(dataset_cfg, dict):
        return
    for inner in [dataset_cfg.get('dataset'), *(dataset_cfg.get('datasets') or [])]:
        yield from _annotation_files(inner)
    ann_file = dataset_cfg.get('ann_file')
    if isinstance(ann_file, str) and ann_file.endswith('.json'):
        yield os.path.join(dataset_cfg.get('data_root') or '', ann_file)


def check_annotation_files(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> None:
    """Check the COCO JSON files a run config's data loaders name, before anything is built. Files that
    do not exist yet are left alone (the embedded data sets are generated when built)."""
    for loader in loaders:
        for path in _annotation_files((cfg.get(loader) or {}).get('dataset')):
            if os.path.exists(path):
                coco_problems(path)  # raises for a broken file; the boxes' problems wait for DataCheckHook


# The data sets lcnet-mm generates on first use: nothing to find on disk before they are built.
GENERATED = ('SyntheticShapesCoco', 'SyntheticShapesClassification', 'SyntheticShapesSegmentation', 'SyntheticTextCoco')


def _missing_paths(dataset_cfg, where: str) -> List[str]:
    """The folders and files a data set config (or a wrapper's) names that are not there."""
    if not isinstance(dataset_cfg, dict):
        return []
    problems = []
    for i, inner in enumerate([dataset_cfg.get('dataset'), *(dataset_cfg.get('datasets') or [])]):
        problems += _missing_paths(inner, f'{where}.dataset' if i == 0 else f'{where}.datasets[{i - 1}]')
    kind = str(dataset_cfg.get('type', '')).rpartition('.')[2]
    if kind in GENERATED or 'type' not in dataset_cfg or dataset_cfg.get('dataset') or dataset_cfg.get('datasets'):
        return problems
    root = dataset_cfg.get('data_root') or ''
    if root and not is_url(root) and not os.path.isdir(root):
        return problems + [f'{where}.data_root {root!r}: no such folder']
    prefix = dataset_cfg.get('data_prefix') or {}
    named = [('ann_file', dataset_cfg.get('ann_file'))]
    named += (
        [(f'data_prefix.{k}', v) for k, v in prefix.items()] if isinstance(prefix, dict) else [('data_prefix', prefix)]
    )
    for name, value in named:
        if isinstance(value, str) and value and not is_url(value):
            path = value if os.path.isabs(value) else os.path.join(root, value)
            if not os.path.exists(path):
                problems.append(f'{where}.{name} {value!r}: {path} does not exist')
    return problems


def check_data_paths(cfg, loaders=('train_dataloader', 'val_dataloader', 'test_dataloader')) -> None:
    """Raise a :class:`DataSetError` naming every folder or file that the data sets of ``loaders`` read and that
    is not there (a COCO or ImageNet that was never put where the config says), before anything is built: the
    toolboxes would stop with a traceback from their file backend or pycocotools. Generated data sets are
    skipped; the files' contents are checked by :func:`check_annotation_files` and :class:`DataCheckHook`."""
    problems = []
    for loader in loaders:
        problems += _missing_paths((cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset')
    if problems:
        raise DataSetError(
            'the data set is not where the config says',
            problems,
            'Put it there, or give its place, e.g. --cfg-options train_dataloader.dataset.data_root=/data/coco/ '
            '(and the val/test loaders alike).',
        )


def check_coco_annotations(path, content: Optional[dict] = None) -> List[str]:
    """The problems of a COCO annotation file's boxes and ids, each naming the annotation's index and id."""
    content = content if content is not None else check_annotation_file(path)
    images = {image.get('id'): image for image in content['images']}
    categories = {category.get('id') for category in content['categories']}
    problems = []
    for index, ann in enumerate(content['annotations']):
        where = f'{path} annotations[{index}] (id {ann.get("id")}, image {ann.get("image_id")})'
        image = images.get(ann.get('image_id'))
        if image is None:
            problems.append(f'{where}: image_id {ann.get("image_id")!r} is not in "images"')
            continue
        if ann.get('category_id') not in categories:
            problems.append(
                f'{where}: category_id {ann.get("category_id")!r} is not in "categories" {sorted(categories)}'
            )
        box = ann.get('bbox')
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            problems.append(f'{where}: bbox {box!r} is not [x, y, width, height]')
            continue
        x, y, w, h = box
        if not all(math.isfinite(v) for v in box):
            problems.append(f'{where}: bbox {box} is not finite')
        elif w <= 0 or h <= 0:
            problems.append(f'{where}: bbox {box} has zero or negative size')
        elif 'width' in image and 'height' in image:
            tol = BOX_TOLERANCE
            if x < -tol or y < -tol or x + w > image['width'] + tol or y + h > image['height'] + tol:
                problems.append(
                    f'{where}: bbox {box} reaches outside its {image["width"]}x{image["height"]} image '
                    f'{image.get("file_name")}'
                )
        problems += _polygon_problems(ann.get('segmentation'), image, where)
    return problems


def _polygon_problems(segmentation, image: dict, where: str) -> List[str]:
    """What is wrong with an annotation's polygons (``[[x0, y0, x1, y1, ...], ...]``; run-length masks are not
    checked): fewer than 3 points, not numbers, or points outside the image (the text detector trains from them)."""
    if not isinstance(segmentation, list):
        return []
    problems = []
    for i, flat in enumerate(segmentation):
        if not (isinstance(flat, list) and all(isinstance(v, (int, float)) and math.isfinite(v) for v in flat)):
            problems.append(f'{where}: segmentation[{i}] is not a list of finite x, y numbers')
        elif len(flat) < 6 or len(flat) % 2:
            problems.append(
                f'{where}: segmentation[{i}] has {len(flat)} numbers; a polygon needs at least 3 (x, y) points '
                '(6 numbers, an even count)'
            )
        elif 'width' in image and 'height' in image:
            points = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
            low, high = -BOX_TOLERANCE, np.array([image['width'], image['height']]) + BOX_TOLERANCE
            outside = np.flatnonzero(np.any((points < low) | (points > high), axis=1))
            if len(outside):
                x, y = points[outside[0]]
                problems.append(
                    f'{where}: segmentation[{i}] point {int(outside[0])} ({x:g}, {y:g}) lies outside its '
                    f'{image["width"]}x{image["height"]} image {image.get("file_name")}'
                )
    return problems


def coco_problems(path) -> List[str]:
    """:func:`check_coco_annotations` of a file, computed once per version of the file in a process:
    ``tools/train.py`` checks it before the runner is built and ``DataCheckHook`` reports it, and a COCO
    train2017 file takes seconds to parse."""
    path = os.path.abspath(path)
    stat = os.stat(path)
    return list(_coco_problems(path, stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _coco_problems(path: str, size: int, mtime_ns: int) -> Tuple[str, ...]:
    return tuple(check_coco_annotations(path))


def _leaves(dataset):
    """The data sets inside wrappers (Concat, Repeat, ClassBalanced)."""
    inner = getattr(dataset, 'datasets', None) or ([dataset.dataset] if hasattr(dataset, 'dataset') else None)
    if inner:
        for d in inner:
            yield from _leaves(d)
    else:
        yield dataset


def _label_map_problem(path: str, num_classes: int, ignore_index: int, reduce_zero_label: bool) -> Optional[str]:
    problem = check_image_file(path)
    if problem:
        return problem
    labels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    values = np.unique(labels)
    if reduce_zero_label:  # 0 is ignored, 1..num_classes are the classes
        allowed = set(range(num_classes + 1)) | {ignore_index}
    else:
        allowed = set(range(num_classes)) | {ignore_index}
    bad = sorted(int(v) for v in values if int(v) not in allowed)
    if bad:
        return (
            f'label values {bad[:8]} are neither classes (0..{num_classes - 1}'
            f'{", stored +1 (reduce_zero_label)" if reduce_zero_label else ""}) nor the ignore index {ignore_index}'
        )
    return None


def check_dataset(dataset, images: bool = True, label_maps: bool = True) -> Tuple[List[str], List[str]]:
    """The problems of a built data set: ``(annotation problems, sample problems)``. The first are those of
    the COCO annotation files it was read from (boxes, ids: what mmdet drops silently); the second name each
    sample's file and index (images, class labels, label maps)."""
    annotations, samples = [], []
    for leaf in _leaves(dataset):
        ann_file = getattr(leaf, 'ann_file', '')
        if isinstance(ann_file, str) and ann_file.endswith('.json') and os.path.isfile(ann_file):
            annotations += coco_problems(ann_file)
        classes = (getattr(leaf, 'metainfo', None) or {}).get('classes') or ()
        ignore_index = getattr(leaf, 'ignore_index', 255)
        reduce_zero_label = getattr(leaf, 'reduce_zero_label', False)
        for index in range(len(leaf)):
            info = leaf.get_data_info(index)
            image = info.get('img_path')
            if images and image and not is_url(image):  # remote storage (s3://, petrel://) is not scanned
                problem = check_image_file(image)
                if problem:
                    samples.append(f'{image} (sample {index}): {problem}')
            labels = np.asarray(info.get('gt_label', [])).reshape(-1)  # one label, or several (multi-label sets)
            outside = [int(v) for v in labels if not 0 <= int(v) < len(classes)] if classes else []
            if outside:
                shown = outside[0] if len(outside) == 1 else outside
                samples.append(f'{image} (sample {index}): class label {shown} outside 0..{len(classes) - 1}')
            seg_map = info.get('seg_map_path')
            if label_maps and seg_map and not is_url(seg_map) and classes and not info.get('label_map'):
                problem = _label_map_problem(seg_map, len(classes), ignore_index, reduce_zero_label)
                if problem:
                    samples.append(f'{seg_map} (label map of sample {index}): {problem}')
    return annotations, samples
