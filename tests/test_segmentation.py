"""Segmentation: PPLCNet's output stride, the embedded segmentation set, and every semantic and instance
segmentation config building, training one step and predicting on the embedded data."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from lcnet_mm.apis import check_backbone_channels
from lcnet_mm.models import PPLCNet

ROOT = Path(__file__).resolve().parents[1]
SEMANTIC_CONFIGS = sorted(
    str(p.relative_to(ROOT))
    for folder in ('deeplabv3plus', 'lraspp', 'fcn')
    for p in (ROOT / 'configs' / folder).glob('*.py')
) + ['configs/demos/lcnet_deeplabv3plus_shapes.py', 'configs/peers/deeplabv3plus_mobilenet-v3-large_shapes.py']
INSTANCE_CONFIGS = [
    'configs/mask_rcnn/mask-rcnn_pplcnet-x1.0_fpn_1x_coco.py',
    'configs/rtmdet/rtmdet-ins-tiny_pplcnet-x0.75_8xb32-300e_coco.py',
]


# ---- output stride ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'output_stride, strides',
    [(None, (2, 4, 8, 16, 32)), (32, (2, 4, 8, 16, 32)), (16, (2, 4, 8, 16, 16)), (8, (2, 4, 8, 8, 8))],
)
def test_output_stride_gives_the_stage_strides(output_stride, strides):
    model = PPLCNet(scale=0.5, out_indices=(0, 1, 2, 3, 4), output_stride=output_stride).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 128, 192))
    assert [(128 // s, 192 // s) for s in strides] == [tuple(o.shape[-2:]) for o in outs]
    assert model.output_stride == strides[-1]


def test_output_stride_dilates_like_deeplab():
    model = PPLCNet(output_stride=8)
    dw = [[block.depthwise_conv.conv for block in stage] for stage in model.stages]
    # the block that would have gone to stride 16 keeps the dilation so far; the ones after it dilate
    assert [(c.stride[0], c.dilation[0]) for c in dw[3]] == [(1, 1)] + [(1, 2)] * 5
    assert [(c.stride[0], c.dilation[0]) for c in dw[4]] == [(1, 2), (1, 4)]
    assert all(c.padding[0] == c.dilation[0] * (c.kernel_size[0] // 2) for stage in dw for c in stage)


def test_the_default_network_is_unchanged_and_every_stride_loads_its_weights():
    torch.manual_seed(0)
    default = PPLCNet(out_indices=(0, 1, 2, 3, 4)).eval()
    state = default.state_dict()
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        reference = default(x)
    assert all(c.dilation == (1, 1) for c in default.modules() if isinstance(c, torch.nn.Conv2d))
    for output_stride in (32, 16, 8):
        model = PPLCNet(out_indices=(0, 1, 2, 3, 4), output_stride=output_stride).eval()
        assert list(model.state_dict()) == list(state)  # same keys, same order, same shapes
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            outs = model(x)
        unchanged = {32: 5, 16: 4, 8: 3}[output_stride]  # stages before the first changed one
        for i in range(unchanged):
            assert torch.equal(outs[i], reference[i]), (output_stride, i)
        if output_stride != 32:
            assert outs[-1].shape[-2:] != reference[-1].shape[-2:]


@pytest.mark.parametrize('bad', [4, 12, 64, '16', 16.0, True])
def test_a_bad_output_stride_is_refused_naming_the_allowed_ones(bad):
    with pytest.raises(ValueError, match=r'output_stride must be one of \[8, 16, 32\]'):
        PPLCNet(output_stride=bad)


# ---- the embedded segmentation set ---------------------------------------------------------------------
@pytest.fixture(scope='module')
def seg_root(tmp_path_factory):
    return tmp_path_factory.mktemp('seg_data')


def build_seg_dataset(root, split='train', num_images=4, pipeline=()):
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS

    return DATASETS.build(
        dict(
            type='SyntheticShapesSegmentation',
            data_root=str(root),
            split=split,
            num_images=num_images,
            pipeline=list(pipeline),
        )
    )


def test_segmentation_set_is_in_mmseg_layout_with_per_pixel_classes(seg_root):
    from mmseg.datasets import BaseSegDataset

    dataset = build_seg_dataset(seg_root, num_images=6)
    assert isinstance(dataset, BaseSegDataset) and len(dataset) == 6
    assert dataset.metainfo['classes'] == ('background', 'circle', 'triangle', 'square', 'cross', 'star')
    images = sorted((seg_root / 'img_dir' / 'train').glob('*.jpg'))
    labels = sorted((seg_root / 'ann_dir' / 'train').glob('*.png'))
    assert [p.stem for p in images] == [p.stem for p in labels] and len(images) == 6
    seen = set()
    for image_path, label_path in zip(images, labels):
        image = cv2.imread(str(image_path))
        label = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        assert label.dtype == np.uint8 and label.shape == image.shape[:2]
        values = set(np.unique(label).tolist())
        assert values <= set(range(6)) and 0 in values and len(values) > 1  # background and some object
        seen |= values
    assert len(seen) >= 4
    again = build_seg_dataset(seg_root, num_images=6)  # generated once, then reused
    assert again.get_data_info(0)['seg_map_path'] == dataset.get_data_info(0)['seg_map_path']


def test_segmentation_labels_follow_the_drawn_objects():
    from lcnet_mm.datasets.synthetic_segmentation import render_segmentation_image

    rng = np.random.default_rng(3)
    image, labels = render_segmentation_image(rng, (224, 288), (30, 120), (3, 6))
    # where an object is labelled, the image differs from the plain background around it: compare the mean
    # gradient magnitude on label edges with the rest
    edges = cv2.Canny(labels * 40, 1, 1) > 0
    gradient = np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32), cv2.CV_32F))
    assert gradient[edges].mean() > 2 * gradient[~edges].mean()


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(split='holdout'), 'split must be one of'),
        (dict(num_images=0), 'num_images must be a positive int'),
        (dict(object_size=(10, 300)), 'does not fit'),
        (dict(image_size=(0, 10)), 'image_size must be'),
    ],
)
def test_segmentation_set_refuses_bad_arguments(seg_root, kwargs, match):
    from lcnet_mm.datasets import SyntheticShapesSegmentation

    with pytest.raises(ValueError, match=match):
        SyntheticShapesSegmentation(data_root=str(seg_root), **kwargs)


# ---- every semantic segmentation config -------------------------------------------------------------
def seg_batch(root, size):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='Resize', scale=size, keep_ratio=False),
        dict(type='PackSegInputs'),
    ]
    dataset = build_seg_dataset(root, num_images=2, pipeline=pipeline)
    return pseudo_collate([dataset[0], dataset[1]])


def build_model(config, input_size=None):
    cfg = Config.fromfile(str(ROOT / config))
    if input_size is not None:  # mmseg's preprocessor pads every training batch to the crop size (512x1024...)
        cfg.model.data_preprocessor.size = input_size
    init_default_scope(cfg.default_scope)
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    model.init_weights()
    return cfg, model


def train_one_step(model):
    def step(batch):
        model.train()
        optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
        before = {k: v.clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
        losses = model.train_step(batch, optim_wrapper)
        assert losses and all(torch.isfinite(v).all() for v in losses.values()), losses
        changed = [k for k, v in model.state_dict().items() if k in before and not torch.equal(before[k], v)]
        assert any(k.startswith('backbone.') for k in changed), 'the backbone did not train'
        model.eval()
        with torch.no_grad():
            return model.test_step(batch)

    return step


@pytest.mark.parametrize('config', SEMANTIC_CONFIGS)
def test_segmentation_config_trains_one_step_and_predicts(config, seg_root):
    # mmseg's LR-ASPP head pools over a fixed 49x49 window: at stride 8 it needs inputs of 392 px and more
    size = (416, 416) if 'lraspp' in config else (128, 160)
    cfg, model = build_model(config, size)
    check_backbone_channels(model)  # the heads' in_channels / c1_in_channels fit the backbone's outputs
    predictions = train_one_step(model)(seg_batch(seg_root, size))
    num_classes = cfg.model.decode_head.num_classes
    assert len(predictions) == 2
    for prediction in predictions:
        original = tuple(prediction.ori_shape)  # mmseg resizes the prediction back to the original image
        assert prediction.seg_logits.data.shape == (num_classes, *original)
        labels = prediction.pred_sem_seg.data
        assert labels.shape == (1, *original) and int(labels.min()) >= 0 and int(labels.max()) < num_classes


@pytest.mark.parametrize(
    'option, match',
    [
        (dict(decode_head=dict(in_channels=256)), r'set model.decode_head.in_channels=512'),
        (dict(decode_head=dict(c1_in_channels=32)), r'set model.decode_head.c1_in_channels=64'),
        (dict(auxiliary_head=dict(in_channels=128)), r'set model.auxiliary_head.in_channels=256'),
    ],
)
def test_a_head_that_does_not_fit_the_backbone_is_named(option, match):
    cfg = Config.fromfile(str(ROOT / 'configs/demos/lcnet_deeplabv3plus_shapes.py'))
    cfg.merge_from_dict(dict(model=option))
    init_default_scope('mmseg')
    from mmseg.registry import MODELS

    with pytest.raises(ValueError, match=match):
        check_backbone_channels(MODELS.build(cfg.model))


# ---- instance segmentation ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def instance_batch(tmp_path_factory):
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS

    dataset = DATASETS.build(
        dict(
            type='SyntheticShapesCoco',
            data_root=str(tmp_path_factory.mktemp('det_data')),
            split='train',
            num_images=2,
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='Resize', scale=(320, 320), keep_ratio=False),  # RTMDet-Ins wants equal mask sizes
                dict(type='PackDetInputs'),
            ],
        )
    )
    return pseudo_collate([dataset[0], dataset[1]])


@pytest.mark.parametrize('config', INSTANCE_CONFIGS)
def test_instance_segmentation_config_trains_one_step_and_predicts_masks(config, instance_batch):
    from mmengine.logging import MessageHub

    _, model = build_model(config)
    MessageHub.get_current_instance().update_info('iter', 0)
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    predictions = train_one_step(model)(instance_batch)
    for prediction, sample in zip(predictions, instance_batch['data_samples']):
        instances = prediction.pred_instances
        n = len(instances)
        assert instances.bboxes.shape == (n, 4) and torch.isfinite(instances.bboxes).all()
        assert instances.masks.shape[0] == n and instances.masks.dtype == torch.bool
        assert tuple(instances.masks.shape[1:]) == tuple(sample.ori_shape)
