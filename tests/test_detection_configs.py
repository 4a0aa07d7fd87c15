"""Every detection config of the project builds, trains one step and predicts on the embedded data."""

import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

ROOT = Path(__file__).resolve().parents[1]
# The detection zoo (one folder per algorithm) and the demos on the embedded data.
ZOO_FOLDERS = ('fcos', 'retinanet', 'atss', 'gfl', 'faster_rcnn', 'ssd', 'picodet', 'rtmdet')
# (the instance-segmentation configs in those folders train on masks: tests/test_segmentation.py)
DETECTION_CONFIGS = sorted(
    str(p.relative_to(ROOT))
    for folder in ZOO_FOLDERS
    for p in (ROOT / 'configs' / folder).glob('*.py')
    if '-ins' not in p.name
) + [
    'configs/lcnet_fcos.py',
    'configs/demos/mobilenetv2_fcos.py',
    'configs/demos/picodet_shapes.py',
    'configs/demos/rtmdet_shapes.py',
]
SMALL_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='PackDetInputs'),
]


@pytest.fixture(scope='module')
def small_batch(tmp_path_factory):
    init_default_scope('mmdet')
    from mmdet.registry import DATASETS

    dataset = DATASETS.build(
        dict(
            type='SyntheticShapesCoco',
            data_root=str(tmp_path_factory.mktemp('data')),
            split='train',
            num_images=2,
            pipeline=SMALL_PIPELINE,
        )
    )
    return pseudo_collate([dataset[0], dataset[1]])


def build_detector(config):
    cfg = Config.fromfile(str(ROOT / config))
    init_default_scope(cfg.default_scope)
    from mmdet.registry import MODELS

    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_all_swap_configs_are_covered():
    names = {Path(c).name.split('_')[0] for c in DETECTION_CONFIGS}
    assert {'fcos', 'retinanet', 'atss', 'gfl', 'faster-rcnn', 'ssdlite', 'picodet-s', 'rtmdet-tiny'} <= names


@pytest.mark.parametrize('config', DETECTION_CONFIGS)
def test_config_trains_one_step_and_predicts(config, small_batch):
    cfg, model = build_detector(config)
    # outside a runner: the iteration that BatchSyncRandomResize (PicoDet's multi-scale training) reads
    MessageHub.get_current_instance().update_info('iter', 0)
    backbone = model.backbone
    if type(backbone).__name__ in ('PPLCNet', 'PPLCNetV2') and hasattr(model.neck, 'in_channels'):
        assert list(model.neck.in_channels) == list(backbone.out_channels)
    model.train()
    num_classes = cfg.model.get('bbox_head', cfg.model.get('roi_head', {}).get('bbox_head', {})).get('num_classes')
    if num_classes is not None and num_classes < 5:  # the shapes' five classes folded onto fewer (TableBank: 1)
        small_batch = copy.deepcopy(small_batch)
        for sample in small_batch['data_samples']:
            sample.gt_instances.labels = sample.gt_instances.labels % num_classes
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    before = {k: v.clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
    losses = model.train_step(small_batch, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values()), losses
    changed = [k for k, v in model.state_dict().items() if k in before and not torch.equal(before[k], v)]
    assert any(k.startswith('backbone.') for k in changed), 'the backbone did not train'

    model.eval()
    with torch.no_grad():
        predictions = model.test_step(small_batch)
    assert len(predictions) == 2
    for prediction in predictions:
        instances = prediction.pred_instances
        n = len(instances)
        assert instances.bboxes.shape == (n, 4) and instances.scores.shape == (n,)
        assert torch.isfinite(instances.bboxes).all()
        assert ((instances.scores >= 0) & (instances.scores <= 1)).all()
        assert ((instances.labels >= 0) & (instances.labels < num_classes)).all()
