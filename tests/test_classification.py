"""Classification: every mmpretrain config of the project builds and trains a step on the embedded data;
the embedded data set is a real task; a classifier checkpoint becomes a detector backbone."""

import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from lcnet_mm.datasets import SyntheticShapesClassification
from lcnet_mm.models.layers import make_divisible
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
IMAGENET_CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs' / 'pplcnet').glob('*.py'))
V2_CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs' / 'pplcnet_v2').glob('*.py'))
PUBLISHED_TOP1 = {0.25: 51.86, 0.35: 58.09, 0.5: 63.14, 0.75: 68.18, 1.0: 71.32, 1.5: 73.71, 2.0: 75.18, 2.5: 76.60}
# PaddleClas PPLCNetV2_*.yaml: size -> (lr, weight decay, total batch, published top-1)
V2_RECIPES = {'small': (0.8, 2e-5, 2048, 73.97), 'base': (0.8, 4e-5, 2048, 77.04), 'large': (0.4, 4e-5, 1024, 78.51)}


@pytest.fixture(scope='module')
def small_dataset(tmp_path_factory):
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmpretrain'):  # whatever scope an earlier test left
        return SyntheticShapesClassification(
            data_root=str(tmp_path_factory.mktemp('cls')),
            split='train',
            num_images=10,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')],
        )


@pytest.fixture
def small_batch(small_dataset):
    # A fresh batch per test: the data preprocessor writes num_classes into the samples.
    return default_collate([small_dataset[i] for i in range(4)])


def build_classifier(config):
    cfg = Config.fromfile(str(ROOT / config))
    init_default_scope(cfg.default_scope)
    from mmpretrain.registry import MODELS

    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))  # as the Runner merges it
    model = MODELS.build(model_cfg)
    model.init_weights()
    return cfg, model


def test_one_config_per_published_width():
    scales = {}
    for config in IMAGENET_CONFIGS:
        match = re.fullmatch(r'configs/pplcnet/pplcnet-x([\d.]+)_8xb256_in1k\.py', config)
        if match:
            scales[float(match[1])] = config
    assert sorted(scales) == sorted(PUBLISHED_TOP1)
    for scale, config in scales.items():
        cfg = Config.fromfile(str(ROOT / config))
        assert cfg.model.backbone.scale == scale
        assert cfg.model.head.in_channels == make_divisible(512 * scale)
        assert cfg.optim_wrapper.optimizer.weight_decay == (3e-5 if scale <= 1.0 else 4e-5)
        assert cfg.optim_wrapper.optimizer.lr == 0.8 and cfg.auto_scale_lr.base_batch_size == 2048
        assert cfg.train_dataloader.batch_size * 8 == 2048
        assert cfg.model.head.loss.label_smooth_val == 0.1 and cfg.train_cfg.max_epochs == 360
        assert cfg.val_evaluator.topk == (1, 5)
        assert f'{PUBLISHED_TOP1[scale]:.2f}%' in (ROOT / config).read_text()  # the number to expect
        has_autoaugment = any(t['type'] == 'AutoAugment' for t in cfg.train_dataloader.dataset.pipeline)
        assert has_autoaugment == (scale == 2.5)


def test_one_config_per_v2_size_with_paddleclas_recipe():
    sizes = {Config.fromfile(str(ROOT / c)).model.backbone.arch: c for c in V2_CONFIGS}
    assert sorted(sizes) == sorted(V2_RECIPES)
    for size, config in sizes.items():
        lr, weight_decay, batch, top1 = V2_RECIPES[size]
        cfg = Config.fromfile(str(ROOT / config))
        assert cfg.model.backbone.type == 'PPLCNetV2' and cfg.model.head.act_cfg == dict(type='ReLU')
        assert cfg.model.head.in_channels == make_divisible(1024 * {'small': 0.75, 'base': 1.0, 'large': 1.25}[size])
        assert (cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay) == (lr, weight_decay)
        assert cfg.auto_scale_lr.base_batch_size == batch == cfg.train_dataloader.batch_size * 8
        assert cfg.train_cfg.max_epochs == 480 and cfg.param_scheduler[1].T_max == 475
        assert cfg.model.head.loss.label_smooth_val == 0.1 and cfg.model.head.dropout_ratio == 0.2
        assert f'{top1:.2f}%' in (ROOT / config).read_text()


@pytest.mark.parametrize(
    'config',
    IMAGENET_CONFIGS + V2_CONFIGS + ['configs/demos/lcnet_cls_shapes.py', 'configs/demos/lcnet_v2_cls_shapes.py'],
)
def test_config_trains_one_step_and_predicts(config, small_batch):
    cfg, model = build_classifier(config)
    assert type(model.backbone).__name__ in ('PPLCNet', 'PPLCNetV2') and type(model.head).__name__ == 'LCNetClsHead'
    model.train()
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3))
    losses = model.train_step(small_batch, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    model.eval()
    with torch.no_grad():
        predictions = model.test_step(small_batch)
    num_classes = cfg.model.head.num_classes
    for prediction in predictions:
        assert prediction.pred_score.shape == (num_classes,)
        torch.testing.assert_close(prediction.pred_score.sum(), torch.tensor(1.0))
        assert 0 <= int(prediction.pred_label) < num_classes


def test_embedded_set_is_balanced_deterministic_and_untrained_model_is_near_chance(tmp_path, mmpretrain_scope):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    dataset = SyntheticShapesClassification(
        data_root=str(tmp_path / 'a'), split='val', num_images=100, pipeline=pipeline
    )
    again = SyntheticShapesClassification(data_root=str(tmp_path / 'b'), split='val', num_images=100, pipeline=pipeline)
    assert dataset.metainfo['classes'] == ('circle', 'cross', 'square', 'star', 'triangle')
    labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
    assert sorted(set(labels)) == [0, 1, 2, 3, 4] and all(labels.count(c) == 20 for c in range(5))
    first = sorted((tmp_path / 'a' / 'val').rglob('*.png'))[0]
    assert first.read_bytes() == (tmp_path / 'b' / 'val' / first.relative_to(tmp_path / 'a' / 'val')).read_bytes()
    # An untrained (broken) classifier scores near chance (20%): the metric is not trivially high.
    _, model = build_classifier('configs/demos/lcnet_cls_shapes.py')
    model.eval()
    batch = default_collate([again[i] for i in range(len(again))])
    with torch.no_grad():
        predictions = model.test_step(batch)
    accuracy = sum(int(p.pred_label) == int(p.gt_label) for p in predictions) / len(predictions)
    assert accuracy < 0.4


@pytest.mark.slow
def test_classification_run_checkpoint_initialises_detector_backbone(tmp_path):
    """train.py on a classification config, test.py reports accuracy, and the checkpoint it wrote is the
    detector's Pretrained backbone."""
    tiny = [
        'train_dataloader.dataset.num_images=16',
        'val_dataloader.dataset.num_images=10',
        'test_dataloader.dataset.num_images=10',
        'train_dataloader.batch_size=8',
        'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'model.backbone.scale=1.0',
        'model.head.in_channels=512',
    ]
    config = str(ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py')
    work = tmp_path / 'work'
    for tool, args in (
        ('train.py', [config, '--work-dir', str(work)]),
        (
            'test.py',
            [
                config,
                str(work / 'epoch_1.pth'),
                '--work-dir',
                str(work),
                '--show-dir',
                'vis',
                '--out',
                str(tmp_path / 'predictions.pkl'),
            ],
        ),
    ):
        proc = run_tool(tool, *args, '--cfg-options', *tiny, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-4000:]
    assert 'accuracy/top1:' in proc.stdout + proc.stderr  # tools/test.py reports top-1
    assert len(list(work.glob('*/vis/*.png'))) == 10  # --show-dir: every test image drawn
    assert (tmp_path / 'predictions.pkl').stat().st_size > 0

    checkpoint = torch.load(work / 'epoch_1.pth', weights_only=True)
    cfg = Config.fromfile(str(ROOT / 'configs' / 'lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(work / 'epoch_1.pth'), prefix='backbone.')
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    detector = MODELS.build(cfg.model)
    detector.init_weights()
    trained = {k[len('backbone.') :]: v for k, v in checkpoint['state_dict'].items() if k.startswith('backbone.')}
    loaded = detector.backbone.state_dict()
    assert set(loaded) == set(trained), 'missing or unexpected backbone keys'
    for key, value in trained.items():
        torch.testing.assert_close(loaded[key], value, msg=key)
