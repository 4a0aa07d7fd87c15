"""The embedded text data set: generated once, deterministic, read by mmdet's CocoDataset as text polygons
(PolygonMasks, tiny words as ignored instances); and the data check names a polygon with fewer than 3 points or
outside its image."""

import json

import numpy as np
import pytest

from lcnet_mm.datasets.checks import check_coco_annotations, check_dataset


def build(root, **kwargs):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
        dict(type='PackDetInputs'),
    ]
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            dict(type='SyntheticTextCoco', data_root=str(root), num_images=6, pipeline=pipeline, **kwargs)
        )


@pytest.fixture(scope='module')
def text_root(tmp_path_factory):
    return tmp_path_factory.mktemp('synthetic_text')


def test_words_come_as_quadrilaterals_inside_their_images_with_tiny_ones_ignored(text_root):
    dataset = build(text_root, split='val', test_mode=True)
    content = json.loads((text_root / 'val' / 'instances.json').read_text())
    assert content['categories'] == [dict(id=1, name='text', supercategory='text')]
    assert check_coco_annotations(text_root / 'val' / 'instances.json') == []
    assert check_dataset(dataset) == ([], [])
    annotations = content['annotations']
    assert len(annotations) >= 2 * len(content['images'])
    assert all(len(a['segmentation']) == 1 and len(a['segmentation'][0]) == 8 for a in annotations)
    crowd = [a for a in annotations if a['iscrowd']]
    # only tiny words are "don't care": the quad's shorter side (its height, rotated or not) is small
    height = [np.hypot(*np.subtract(a['segmentation'][0][0:2], a['segmentation'][0][6:8])) for a in crowd]
    assert crowd and max(height) < 16, height
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        height, width = sample.ori_shape
        for masks in (sample.gt_instances.masks, sample.ignored_instances.masks):
            for (flat,) in masks.masks:
                points = np.asarray(flat).reshape(-1, 2)
                assert points.shape == (4, 2)
                assert points.min() >= 0 and (points[:, 0] <= width).all() and (points[:, 1] <= height).all()


def test_the_same_parameters_give_the_same_files_and_other_parameters_regenerate(text_root, tmp_path):
    build(text_root, split='val', test_mode=True)
    first = (text_root / 'val' / 'instances.json').read_text()
    build(tmp_path, split='val', test_mode=True)
    assert (tmp_path / 'val' / 'instances.json').read_text() == first
    build(tmp_path, split='val', test_mode=True, seed=1)
    assert (tmp_path / 'val' / 'instances.json').read_text() != first


def test_bad_generation_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val', 'test'\], got 'dev'"):
        build(tmp_path, split='dev')
    with pytest.raises(ValueError, match=r'text_height must be \(min, max\) with 0 < min <= max, got \(30, 10\)'):
        build(tmp_path, text_height=(30, 10))
    with pytest.raises(ValueError, match='text_height max 200 must be at most half the smallest side 256'):
        build(tmp_path, text_height=(10, 200))


def test_the_data_check_names_short_polygons_and_polygons_outside_their_image(tmp_path):
    path = tmp_path / 'instances.json'
    image = dict(id=1, file_name='a.jpg', width=100, height=50)
    good = dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 20, 10], segmentation=[[10, 10, 30, 10, 30, 20]])
    two_points = dict(good, id=2, segmentation=[[10, 10, 30, 20]])
    outside = dict(good, id=3, segmentation=[[10, 10, 30, 10, 130, 20, 10, 20]])
    not_numbers = dict(good, id=4, segmentation=[[10, 10, 'x', 10, 30, 20]])
    content = dict(images=[image], annotations=[good, two_points, outside, not_numbers], categories=[dict(id=1)])
    path.write_text(json.dumps(content))
    problems = check_coco_annotations(path)
    assert len(problems) == 3, problems
    assert 'annotations[1] (id 2, image 1): segmentation[0] has 4 numbers; a polygon needs at least 3' in problems[0]
    assert 'segmentation[0] point 2 (130, 20) lies outside its 100x50 image a.jpg' in problems[1]
    assert 'segmentation[0] is not a list of finite x, y numbers' in problems[2]
