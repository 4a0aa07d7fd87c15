"""Odd and hostile inputs either work or stop with an error that names the problem."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint

from lcnet_mm import PPLCNet
from lcnet_mm.apis import check_backbone_channels
from lcnet_mm.io import CheckpointMismatchError, load_weight_file
from lcnet_mm.io import load_checkpoint as lcnet_mm_load_checkpoint
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]


def build(config, **changes):
    cfg = Config.fromfile(str(ROOT / config))
    cfg.merge_from_dict(changes)
    init_default_scope(cfg.default_scope)
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    return cfg, registry.build(model_cfg)


# ---- configs ----------------------------------------------------------------------------------------
def test_neck_channels_that_do_not_match_are_caught_with_the_right_ones():
    _, model = build('configs/lcnet_fcos.py', **{'model.neck.in_channels': [128, 256, 500]})
    with pytest.raises(
        ValueError,
        match=r'FPN in_channels=\[128, 256, 500\] do not match .* '
        r'set model.neck.in_channels=\[128, 256, 512\]',
    ):
        check_backbone_channels(model)
    _, model = build('configs/lcnet_fcos.py', **{'model.backbone.scale': 0.75})  # width changed, neck not
    with pytest.raises(ValueError, match=r'set model.neck.in_channels=\[96, 192, 384\]'):
        check_backbone_channels(model)
    check_backbone_channels(build('configs/lcnet_fcos.py')[1])  # the shipped config is consistent


def test_head_channels_that_do_not_match_are_caught(mmpretrain_scope):
    _, model = build('configs/demos/lcnet_cls_shapes.py', **{'model.head.in_channels': 512})
    with pytest.raises(ValueError, match=r'LCNetClsHead in_channels=512 .* set model.head.in_channels=256'):
        check_backbone_channels(model)


def test_train_py_stops_before_training_on_a_channel_mismatch(tmp_path):
    proc = run_tool(
        'train',
        ROOT / 'configs/lcnet_fcos.py',
        '--work-dir',
        tmp_path / 'w',
        '--cfg-options',
        'model.backbone.scale=0.5',
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode != 0 and 'set model.neck.in_channels=[64, 128, 256]' in proc.stderr
    assert not (tmp_path / 'data').exists()  # stopped before any data was generated


def test_unknown_width_and_indices():
    with pytest.raises(TypeError, match="'x1.0'"):
        PPLCNet(scale='x1.0')
    with pytest.raises(ValueError, match=r'out_indices has 7'):
        PPLCNet(out_indices=(2, 7))
    with pytest.raises(ValueError, match=r'frozen_stages must be in \[-1, 4\]'):
        PPLCNet(frozen_stages=9)


# ---- files ------------------------------------------------------------------------------------------
def test_truncated_unknown_and_other_width_checkpoints(tmp_path):
    """This project's loader (deploy and benchmark tools, converters) names the file in every error."""
    model = PPLCNet(scale=1.0)
    good = tmp_path / 'x1.0.pth'
    torch.save({'state_dict': model.state_dict()}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match='truncated.pth.*truncated or corrupt'):
        load_weight_file(truncated)
    garbage = tmp_path / 'weights.bin'
    garbage.write_bytes(b'\x00\x01not a checkpoint')
    with pytest.raises(ValueError, match='weights.bin: unknown weight file format'):
        load_weight_file(garbage)
    with pytest.raises(
        CheckpointMismatchError,
        match=r'x1.0.pth does not fit the model \(PPLCNet\(scale=0.5\)\).*'
        r'stem.conv.weight: checkpoint \(16, 3, 3, 3\) vs model '
        r'\(8, 3, 3, 3\)',
    ):
        lcnet_mm_load_checkpoint(PPLCNet(scale=0.5), good)
    lcnet_mm_load_checkpoint(PPLCNet(scale=1.0), good)  # the right width loads
    load_checkpoint(PPLCNet(scale=1.0), str(good))  # and through mmengine's own loader


# ---- images -----------------------------------------------------------------------------------------
def odd_coco(root: Path):
    """Images of odd kinds in one COCO split: grayscale, RGBA, tiny, elongated, off-size, empty."""
    (root / 'images').mkdir(parents=True)
    rng = np.random.default_rng(0)
    specs = [
        ('gray.png', (60, 80), 'gray'),
        ('rgba.png', (64, 64), 'rgba'),
        ('tiny.png', (17, 23), 'color'),
        ('long.png', (20, 400), 'color'),
        ('odd.png', (225, 303), 'color'),
        ('empty.png', (50, 70), 'color'),
    ]
    images, annotations = [], []
    for i, (name, (h, w), kind) in enumerate(specs, start=1):
        channels = {'gray': 1, 'rgba': 4, 'color': 3}[kind]
        pixels = rng.integers(0, 255, (h, w, channels), dtype=np.uint8)
        cv2.imwrite(str(root / 'images' / name), pixels if channels != 1 else pixels[..., 0])
        images.append(dict(id=i, file_name=name, height=h, width=w))
        if name != 'empty.png':
            annotations.append(
                dict(
                    id=i,
                    image_id=i,
                    category_id=1 + i % 5,
                    iscrowd=0,
                    bbox=[1.0, 1.0, min(w, 12) - 2.0, min(h, 12) - 2.0],
                    area=80.0,
                )
            )
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(('circle', 'triangle', 'square', 'cross', 'star'))]
    (root / 'instances.json').write_text(
        json.dumps(dict(images=images, annotations=annotations, categories=categories))
    )
    return [s[0] for s in specs]


def coco_dataset(root, cfg, pipeline, test_mode):
    from mmdet.registry import DATASETS

    return DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(root),
            ann_file='instances.json',
            data_prefix=dict(img='images/'),
            metainfo=dict(classes=cfg.classes),
            filter_cfg=dict(filter_empty_gt=False),
            pipeline=pipeline,
            test_mode=test_mode,
        )
    )


def test_odd_images_train_and_predict(tmp_path):
    names = odd_coco(tmp_path)
    cfg, model = build('configs/lcnet_fcos.py', classes=('circle', 'triangle', 'square', 'cross', 'star'))
    train = coco_dataset(tmp_path, cfg, cfg.train_pipeline, test_mode=False)
    test = coco_dataset(tmp_path, cfg, cfg.test_pipeline, test_mode=True)
    model.init_weights()
    batch = pseudo_collate([train[i] for i in range(len(train))])
    assert all(sample['inputs'].shape[0] == 3 for sample in [train[i] for i in range(len(train))])  # gray, RGBA -> 3
    losses = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3)))
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        predictions = model.test_step(pseudo_collate([test[i] for i in range(len(test))]))
    assert len(predictions) == len(names)
    for prediction, name in zip(predictions, names):
        h, w = prediction.ori_shape
        boxes = prediction.pred_instances.bboxes
        assert torch.isfinite(boxes).all(), name
        assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= w).all(), name  # clipped to the image
        assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= h).all(), name


def test_unreadable_image_is_named(tmp_path):
    odd_coco(tmp_path)
    (tmp_path / 'images' / 'odd.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    cfg, _ = build('configs/lcnet_fcos.py', classes=('circle', 'triangle', 'square', 'cross', 'star'))
    dataset = coco_dataset(tmp_path, cfg, cfg.train_pipeline, test_mode=False)
    index = [i for i in range(len(dataset)) if dataset.get_data_info(i)['img_path'].endswith('odd.png')][0]
    with pytest.raises(Exception, match='odd.png'):
        dataset.prepare_data(index)
