"""Data sets that are wrong on disk: each case stops before training with its file (and index) and what is
wrong, never a traceback from PIL, cv2 or pycocotools and never a silent NaN or a silently dropped box."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import load_tool
from lcnet_mm.datasets import DataSetError, check_annotation_file, check_coco_annotations, check_dataset

ROOT = Path(__file__).resolve().parents[1]


def build_dataset(toolbox: str, cfg: dict):
    """Build a data set with ``toolbox``'s registry, in its scope whatever scope an earlier test left."""
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope(toolbox):
        return __import__(f'{toolbox}.registry', fromlist=['DATASETS']).DATASETS.build(cfg)


CLASSES = ('circle', 'triangle', 'square', 'cross', 'star')


def write_image(path: Path, size=(40, 60), ext='.png'):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)
    cv2.imwrite(str(path.with_suffix(ext)), pixels)
    return path.with_suffix(ext)


def spoil(path: Path, how: str):
    """Make an image file truncated, not an image, or missing."""
    if how == 'truncated':
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == 'not an image':
        path.write_bytes(b'this is a text file named like an image\n' * 20)
    elif how == 'missing':
        path.unlink()


IMAGE_PROBLEMS = {'truncated': 'truncated', 'not an image': 'not an image', 'missing': 'missing'}


# ---- COCO (the detection configs' layout; the embedded detection set is one) -----------------------
def coco(root: Path, annotations=None):
    images = [dict(id=i, file_name=f'{i}.png', width=60, height=40) for i in (1, 2, 3)]
    for image in images:
        write_image(root / 'images' / image['file_name'])
    annotations = annotations or [
        dict(id=i, image_id=i, category_id=1, bbox=[5.0, 5.0, 10.0, 8.0], area=80.0, iscrowd=0) for i in (1, 2, 3)
    ]
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
    (root / 'ann.json').write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    return root / 'ann.json'


def coco_dataset(root):
    return build_dataset(
        'mmdet',
        dict(
            type='CocoDataset',
            data_root=str(root),
            ann_file='ann.json',
            data_prefix=dict(img='images/'),
            metainfo=dict(classes=CLASSES),
            pipeline=[],
        ),
    )


@pytest.mark.parametrize('how', IMAGE_PROBLEMS)
def test_coco_image_problems_name_the_file_and_sample(tmp_path, how):
    coco(tmp_path)
    dataset = coco_dataset(tmp_path)
    index = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['img_path'].endswith('2.png'))
    spoil(tmp_path / 'images' / '2.png', how)
    annotations, samples = check_dataset(dataset)
    assert annotations == [] and len(samples) == 1
    assert f'images/2.png (sample {index}): {IMAGE_PROBLEMS[how]}' in samples[0]


BAD_BOXES = {
    'zero size': ([5.0, 5.0, 0.0, 8.0], 'zero or negative size'),
    'negative size': ([5.0, 5.0, -3.0, 8.0], 'zero or negative size'),
    'NaN': ([float('nan'), 5.0, 10.0, 8.0], 'not finite'),
    'outside the image': ([55.0, 5.0, 30.0, 8.0], 'reaches outside its 60x40 image 2.png'),
    'not a box': ([5.0, 5.0], 'is not [x, y, width, height]'),
}


@pytest.mark.parametrize('case', BAD_BOXES)
def test_coco_box_problems_are_named_where_mmdet_would_drop_them_silently(tmp_path, case):
    box, what = BAD_BOXES[case]
    anns = [dict(id=7, image_id=2, category_id=1, bbox=box, area=80.0, iscrowd=0)]
    path = coco(tmp_path, anns)
    (problem,) = check_coco_annotations(path)
    assert problem.startswith(f'{path} annotations[0] (id 7, image 2): bbox') and what in problem


def test_unknown_category_and_image_ids(tmp_path):
    anns = [
        dict(id=1, image_id=1, category_id=9, bbox=[1.0, 1.0, 5.0, 5.0], area=25.0, iscrowd=0),
        dict(id=2, image_id=42, category_id=1, bbox=[1.0, 1.0, 5.0, 5.0], area=25.0, iscrowd=0),
    ]
    problems = check_coco_annotations(coco(tmp_path, anns))
    assert 'annotations[0] (id 1, image 1): category_id 9 is not in "categories" [1, 2, 3, 4, 5]' in problems[0]
    assert 'annotations[1] (id 2, image 42): image_id 42 is not in "images"' in problems[1]


@pytest.mark.parametrize(
    'content, what',
    [
        ('', 'empty file'),
        ('{"images": [', 'not JSON: Expecting value'),
        ('{"images": []}', 'not a COCO annotation file: no list'),
        ('[1]', 'not a COCO'),
    ],
    ids=['empty', 'not JSON', 'not COCO', 'a list'],
)
def test_annotation_files_that_are_not_coco_json(tmp_path, content, what):
    path = tmp_path / 'ann.json'
    path.write_text(content)
    with pytest.raises(DataSetError, match=rf'annotation file {path}: 1 problem\(s\):\n  {what}'):
        check_annotation_file(path)


def fcos_on(root: Path) -> list:
    """``tools/train.py`` arguments: the main job's FCOS, trained on the COCO set under ``root``."""
    config = root / 'fcos_on_coco.py'
    config.write_text(
        f"_base_ = '{ROOT / 'configs/lcnet_fcos.py'}'\n"
        'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(\n'
        f"    _delete_=True, type='CocoDataset', data_root='{root}', ann_file='ann.json',\n"
        f"    data_prefix=dict(img='images/'), metainfo=dict(classes={CLASSES}),\n"
        '    pipeline={{_base_.train_pipeline}}))\n'
        'val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(num_images=2))\n'
        'test_dataloader = val_dataloader\n'
        'train_cfg = dict(max_epochs=1)\n'
    )
    return [str(config), '--work-dir', str(root / 'w')]


def test_train_py_names_a_broken_annotation_file_before_building_anything(tmp_path):
    (tmp_path / 'ann.json').write_text('{"images": [')
    with pytest.raises(DataSetError, match=r'ann.json: 1 problem\(s\):\n  not JSON'):
        load_tool('train').build_runner(fcos_on(tmp_path))
    assert not (tmp_path / 'w').exists()


def test_data_check_hook_stops_the_run_or_skips_bad_boxes_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the embedded validation set goes under tmp_path/data
    anns = [
        dict(id=1, image_id=1, category_id=1, bbox=[5.0, 5.0, 10.0, 8.0], area=80.0, iscrowd=0),
        dict(id=2, image_id=2, category_id=1, bbox=[5.0, float('nan'), 10.0, 8.0], area=80.0, iscrowd=0),
        dict(id=3, image_id=3, category_id=1, bbox=[5.0, 5.0, 10.0, 8.0], area=80.0, iscrowd=0),
    ]
    coco(tmp_path, anns)
    train = load_tool('train')
    with pytest.raises(
        DataSetError,
        match=r'(?s)the train set \(CocoDataset\): 1 problem.*annotations\[1\].*not finite.*skip_invalid_boxes=True',
    ):
        train.build_runner(fcos_on(tmp_path)).train()
    assert not list((tmp_path / 'w').glob('*.pth'))  # stopped before the first iteration
    runner = train.build_runner(
        [*fcos_on(tmp_path), '--cfg-options', 'default_hooks.data_check.skip_invalid_boxes=True']
    )
    runner.train()  # trains without the NaN box: mmdet leaves it out, the hook says so
    logs = sorted((tmp_path / 'w').glob('*/*.log'))
    assert '1 annotation(s) of the train set skipped (skip_invalid_boxes=True)' in logs[-1].read_text()
    assert (tmp_path / 'w' / 'epoch_1.pth').exists()


# ---- ImageNet folders (mmpretrain CustomDataset: the classification configs' layout) ----------------
def image_folders(root: Path):
    for name in CLASSES[:2]:
        for i in range(2):
            write_image(root / 'train' / name / f'{i}', ext='.jpg')
    return root


def test_imagenet_folder_problems(tmp_path):
    image_folders(tmp_path)
    spoil(tmp_path / 'train' / 'circle' / '1.jpg', 'truncated')
    spoil(tmp_path / 'train' / 'triangle' / '0.jpg', 'not an image')
    dataset = build_dataset(
        'mmpretrain', dict(type='CustomDataset', data_root=str(tmp_path), data_prefix='train', pipeline=[])
    )
    _, samples = check_dataset(dataset)
    assert len(samples) == 2
    assert 'circle/1.jpg (sample 1): truncated JPEG' in samples[0]
    assert 'triangle/0.jpg (sample 2): not an image' in samples[1]


def test_imagenet_list_file_with_a_missing_image_and_a_label_out_of_range(tmp_path):
    image_folders(tmp_path)
    (tmp_path / 'train.txt').write_text('circle/0.jpg 0\ncircle/9.jpg 0\ntriangle/1.jpg 7\n')
    dataset = build_dataset(
        'mmpretrain',
        dict(
            type='CustomDataset',
            data_root=str(tmp_path),
            data_prefix='train',
            ann_file='train.txt',
            metainfo=dict(classes=CLASSES[:2]),
            pipeline=[],
        ),
    )
    _, samples = check_dataset(dataset)
    assert 'circle/9.jpg (sample 1): missing' in samples[0]
    assert 'triangle/1.jpg (sample 2): class label 7 outside 0..1' in samples[1]


# ---- mmseg folders (the segmentation configs' layout; the embedded segmentation set is one) ---------
def seg_folders(root: Path, labels):
    for i, values in enumerate(labels):
        write_image(root / 'img_dir' / f'{i}', ext='.jpg')
        label = np.zeros((40, 60), np.uint8)
        label[: len(values)] = np.array(values, np.uint8)[:, None]
        (root / 'ann_dir').mkdir(exist_ok=True)
        cv2.imwrite(str(root / 'ann_dir' / f'{i}.png'), label)
    return build_dataset(
        'mmseg',
        dict(
            type='BaseSegDataset',
            data_root=str(root),
            data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
            img_suffix='.jpg',
            seg_map_suffix='.png',
            metainfo=dict(classes=('background', 'circle', 'square'), palette=[[0, 0, 0]] * 3),
            pipeline=[],
        ),
    )


def test_label_maps_with_values_that_are_neither_classes_nor_ignored(tmp_path):
    dataset = seg_folders(tmp_path, [[0, 1, 2, 255], [0, 3, 7]])  # 255 is the ignore index; 3 and 7 are not classes
    _, samples = check_dataset(dataset)
    assert len(samples) == 1
    assert 'ann_dir/1.png (label map of sample 1): label values [3, 7] are neither classes (0..2)' in samples[0]
    assert 'nor the ignore index 255' in samples[0]


def test_missing_and_truncated_label_maps(tmp_path):
    dataset = seg_folders(tmp_path, [[0, 1], [0, 2]])
    spoil(tmp_path / 'ann_dir' / '0.png', 'missing')
    spoil(tmp_path / 'ann_dir' / '1.png', 'truncated')
    _, samples = check_dataset(dataset)
    assert 'ann_dir/0.png (label map of sample 0): missing' in samples[0]
    assert 'ann_dir/1.png (label map of sample 1): truncated PNG' in samples[1]


def test_the_embedded_data_sets_pass_their_own_check(tmp_path, monkeypatch):
    """The checks find nothing in what the project generates (a check that cries wolf gets switched off)."""
    from mmengine.config import Config

    monkeypatch.chdir(tmp_path)
    for config, registry, size in (
        ('configs/lcnet_fcos.py', 'mmdet', 'num_images=6'),
        ('configs/demos/lcnet_cls_shapes.py', 'mmpretrain', 'num_images=10'),
        ('configs/demos/lcnet_deeplabv3plus_shapes.py', 'mmseg', 'num_images=4'),
    ):
        cfg = Config.fromfile(str(ROOT / config))
        cfg.merge_from_dict({f'train_dataloader.dataset.{size.split("=")[0]}': int(size.split('=')[1])})
        assert check_dataset(build_dataset(registry, cfg.train_dataloader.dataset)) == ([], []), config
