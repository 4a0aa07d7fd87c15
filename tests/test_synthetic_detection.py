"""The embedded detection data set: a real task, deterministic, generated atomically."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from lcnet_mm.datasets import SyntheticShapesCoco
from lcnet_mm.datasets.generate_once import ensure_generated, read_manifest
from lcnet_mm.datasets.shapes import SHAPES
from lcnet_mm.datasets.synthetic_detection import generate_detection_split


def make(root, split='train', num_images=60, **kwargs):
    return SyntheticShapesCoco(data_root=str(root), split=split, num_images=num_images, pipeline=[], **kwargs)


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob('*')):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_is_a_real_detection_task(tmp_path):
    dataset = make(tmp_path, num_images=60)
    coco = json.loads((tmp_path / 'train' / 'instances.json').read_text())
    assert [c['name'] for c in coco['categories']] == list(SHAPES) and len(SHAPES) >= 5
    assert dataset.metainfo['classes'] == SHAPES
    per_image = np.bincount([a['image_id'] for a in coco['annotations']], minlength=61)[1:]
    assert per_image.min() >= 1 and per_image.max() <= 8 and per_image.max() >= 6
    sides = np.array([max(a['bbox'][2:]) for a in coco['annotations']])
    assert sides.min() < 14 and sides.max() > 90 and sides.max() <= 121
    assert set(a['category_id'] for a in coco['annotations']) == set(range(1, 6))
    shapes = {(im['height'], im['width']) for im in coco['images']}
    assert len(shapes) > 30  # sizes vary
    # Some objects overlap partly, none hides another.
    overlapping = 0
    for image_id in range(1, 61):
        boxes = [a['bbox'] for a in coco['annotations'] if a['image_id'] == image_id]
        for i, (x0, y0, w0, h0) in enumerate(boxes):
            for x1, y1, w1, h1 in boxes[i + 1 :]:
                iw = min(x0 + w0, x1 + w1) - max(x0, x1)
                ih = min(y0 + h0, y1 + h1) - max(y0, y1)
                if iw > 0 and ih > 0:
                    overlapping += 1
                    assert iw * ih / min(w0 * h0, w1 * h1) <= 0.36
    assert overlapping > 0
    # mmdet's CocoDataset reads it: instances with boxes in the image and labels in range.
    info = dataset.get_data_info(0)
    assert Path(info['img_path']).is_file()
    assert all(0 <= inst['bbox_label'] < 5 for inst in info['instances'])


def test_generation_is_deterministic_and_split_streams_differ(tmp_path):
    make(tmp_path / 'a', num_images=5)
    make(tmp_path / 'b', num_images=5)
    make(tmp_path / 'b', split='val', num_images=5)
    assert digest(tmp_path / 'a' / 'train' / 'images') == digest(tmp_path / 'b' / 'train' / 'images')
    assert digest(tmp_path / 'b' / 'train' / 'images') != digest(tmp_path / 'b' / 'val' / 'images')


def test_existing_data_is_reused_and_changed_params_regenerate(tmp_path):
    make(tmp_path, num_images=3)
    marker = tmp_path / 'train' / 'images' / '000000.jpg'
    mtime = marker.stat().st_mtime_ns
    make(tmp_path, num_images=3)
    assert marker.stat().st_mtime_ns == mtime  # reused, not regenerated
    make(tmp_path, num_images=4)
    assert read_manifest(tmp_path / 'train')['num_images'] == 4
    assert len(list((tmp_path / 'train' / 'images').iterdir())) == 4


def test_interrupted_generation_leaves_nothing_trusted(tmp_path):
    root = tmp_path / 'train'
    params = dict(
        version=1,
        split='train',
        num_images=5,
        seed=0,
        image_size=(224, 352),
        object_size=(10, 120),
        objects_per_image=(1, 8),
    )

    def interrupted(tmp, p):
        generate_detection_split(tmp, dict(p, num_images=2))
        raise KeyboardInterrupt  # e.g. Ctrl-C half way

    with pytest.raises(KeyboardInterrupt):
        ensure_generated(root, params, interrupted)
    assert not root.exists()
    assert not list(tmp_path.glob('.tmp-train-*'))
    ensure_generated(root, params, generate_detection_split, log=lambda *_: None)
    assert len(json.loads((root / 'instances.json').read_text())['images']) == 5
    # A directory without a manifest (an older or foreign copy) is not trusted either.
    (root / 'manifest.json').unlink()
    ensure_generated(root, params, generate_detection_split, log=lambda *_: None)
    assert read_manifest(root)['num_images'] == 5


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(split='holdout'), "'holdout'"),
        (dict(num_images=0), 'num_images'),
        (dict(object_size=(50, 10)), 'object_size'),
        (dict(object_size=(10, 300)), 'does not fit'),
    ],
)
def test_bad_parameters_are_named(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(tmp_path, **{'num_images': 2, **kwargs})
