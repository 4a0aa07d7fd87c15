"""Structured pruning with Torch-Pruning (DepGraph): what it leaves of PP-LCNet and PP-LCNetV2 is a config (their
``widths``) plus a checkpoint that loads into it strictly and computes exactly what the pruned network did."""

import copy
from pathlib import Path

import pytest
import torch
import torch_pruning as tp

from lcnet_mm import PPLCNet, PPLCNetV2
from lcnet_mm.models import widths_of
from test_deploy import trained_like
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]


def prune_in_memory(backbone, ratio: float, importance) -> None:
    """Torch-Pruning's uniform pruning of every channel group but the stem's, widths rounded to multiples of 8."""
    pruner = tp.pruner.MetaPruner(
        backbone,
        torch.randn(1, 3, 96, 96),
        importance=importance,
        pruning_ratio=ratio,
        ignored_layers=[backbone.stem],
        round_to=8,
    )
    pruner.step()


BACKBONES = [
    (PPLCNet, dict(scale=1.0, out_indices=(2, 3, 4))),
    (PPLCNetV2, dict(arch='small', out_indices=(2, 3, 4))),
]


@pytest.mark.parametrize('cls, kwargs', BACKBONES, ids=['v1', 'v2'])
@pytest.mark.parametrize(
    'importance', [tp.importance.GroupMagnitudeImportance(p=1), tp.importance.FPGMImportance()], ids=['l1', 'fpgm']
)
def test_a_pruned_backbone_is_its_widths_plus_a_strict_checkpoint(tmp_path, cls, kwargs, importance):
    backbone = trained_like(cls(**kwargs))
    before = widths_of(backbone)
    prune_in_memory(backbone, 0.3, importance)
    widths = widths_of(backbone)
    assert widths['stem'] == before['stem']  # the stem is kept
    assert sum(p.numel() for p in backbone.parameters()) < 0.6 * sum(p.numel() for p in cls(**kwargs).parameters())
    outs = [block if isinstance(block, int) else block['out'] for stage in widths['blocks'] for block in stage]
    assert all(width % 8 == 0 for width in outs) and outs != [
        block if isinstance(block, int) else block['out'] for stage in before['blocks'] for block in stage
    ]
    path = tmp_path / 'pruned.pth'
    torch.save({'state_dict': backbone.state_dict()}, path)

    rebuilt = cls(**kwargs, widths=widths).eval()
    rebuilt.load_state_dict(torch.load(path, weights_only=True)['state_dict'], strict=True)
    # (the pruned module's own out_channels attribute still says what it was built with: the rebuilt one is right)
    last = [stage[-1] if isinstance(stage[-1], int) else stage[-1]['out'] for stage in widths['blocks'][2:]]
    assert rebuilt.out_channels == tuple(last)
    images = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        for expected, actual in zip(backbone.eval()(images), rebuilt(images)):
            assert torch.equal(expected, actual)


def test_a_pruned_pplcnetv2_still_re_parameterises():
    backbone = trained_like(PPLCNetV2(arch='small', out_indices=(3, 4)))
    prune_in_memory(backbone, 0.4, tp.importance.GroupMagnitudeImportance(p=2))
    rebuilt = trained_like(PPLCNetV2(arch='small', out_indices=(3, 4), widths=widths_of(backbone)))
    rebuilt.load_state_dict(copy.deepcopy(backbone.state_dict()), strict=True)
    deployed = copy.deepcopy(rebuilt).switch_to_deploy()
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        for expected, actual in zip(rebuilt(images), deployed(images)):
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


# ---- tools/prune.py -----------------------------------------------------------------------------------
CLASSIFIER = ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py'
DETECTOR = ROOT / 'configs' / 'lcnet_fcos.py'
TINY_CLS = [
    'test_dataloader.dataset.num_images=5',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
]


TINY_TRAIN = [
    f'{loader}.{setting}'
    for loader in ('train_dataloader', 'val_dataloader')
    for setting in ('dataset.num_images=8', 'num_workers=0', 'persistent_workers=False')
]


def trained_checkpoint(config, path):
    from lcnet_mm.apis import build_model_from_config

    model, _ = build_model_from_config(str(config))
    trained_like(model.backbone)
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def proc_log(work_dir) -> str:
    return ''.join(p.read_text() for p in work_dir.glob('*/*.log'))


def test_prune_tool_writes_a_config_and_checkpoint_every_tool_takes(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    checkpoint = trained_checkpoint(CLASSIFIER, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool('prune', CLASSIFIER, checkpoint, '--ratio', '0.4', '--input-size', '64', '64', '--work-dir', work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| original |' in proc.stdout and '| pruned |' in proc.stdout and 'MACs x0.' in proc.stdout
    config, pruned = work / 'lcnet_cls_shapes_pruned.py', work / 'lcnet_cls_shapes_pruned.pth'
    assert sorted(p.name for p in work.iterdir()) == sorted([config.name, pruned.name])  # no temporary left

    model, cfg = build_model_from_config(str(config), str(pruned))  # loads strictly, or raises
    assert cfg.load_from == str(pruned) and cfg.train_cfg.max_epochs == 12  # the original's schedule, inherited
    widths = cfg.model.backbone.widths
    original, _ = build_model_from_config(str(CLASSIFIER))
    assert sum(p.numel() for p in model.parameters()) < 0.8 * sum(p.numel() for p in original.parameters())
    assert model.head.in_channels == widths['blocks'][-1][-1]['out'] < 256  # x0.5's last stage had 256

    for name, *args in (
        ('test', config, pruned, '--work-dir', tmp_path / 'test', '--cfg-options', *TINY_CLS),
        ('switch_to_deploy', config, pruned, tmp_path / 'folded.pth', '--input-size', '64', '64'),
        ('export_onnx', config, pruned, tmp_path / 'pruned.onnx', '--input-size', '64', '64', '--static'),
        ('train', config, '--work-dir', tmp_path / 'fine_tune', '--cfg-options', 'train_cfg.max_epochs=1', *TINY_TRAIN),
        ('benchmark', config, '--checkpoints', pruned, '--paths', 'eager', '--input-size', '64', '64', '--warmup', '1',
         '--rounds', '1', '--reps', '1', '--throughput-batch', '0', '--no-eval', '--out-dir', tmp_path / 'bench'),
    ):  # fmt: skip
        proc = run_tool(name, *args, cwd=tmp_path)
        assert proc.returncode == 0, f'{name}: ' + proc.stderr[-3000:]
    assert (tmp_path / 'folded.pth').is_file() and (tmp_path / 'pruned.onnx').is_file()
    assert 'Load checkpoint from ' + str(pruned) in proc_log(tmp_path / 'fine_tune')  # fine-tuned from load_from
    assert (tmp_path / 'fine_tune' / 'epoch_1.pth').is_file()


def test_prune_tool_prunes_a_detectors_backbone_and_its_necks_inputs(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    options = ['model.backbone.scale=0.5', 'model.neck.in_channels=[64,128,256]']
    checkpoint = tmp_path / 'trained.pth'
    model, _ = build_model_from_config(
        str(DETECTOR), cfg_options={'model.backbone.scale': 0.5, 'model.neck.in_channels': [64, 128, 256]}
    )
    trained_like(model.backbone)
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    work = tmp_path / 'pruned'
    proc = run_tool(
        'prune', DETECTOR, checkpoint, '--ratio', '0.3', '--importance', 'fpgm', '--input-size', '96', '96',
        '--work-dir', work, '--cfg-options', *options,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    pruned, cfg = build_model_from_config(str(work / 'lcnet_fcos_pruned.py'), str(work / 'lcnet_fcos_pruned.pth'))
    assert cfg.model.backbone.scale == 0.5  # the --cfg-options are carried into the pruned config
    assert list(cfg.model.neck.in_channels) == list(pruned.backbone.out_channels) != [64, 128, 256]
    assert pruned.neck.out_channels == model.neck.out_channels  # the neck and head keep their widths
    with torch.no_grad():
        outputs = pruned(torch.randn(1, 3, 96, 96), mode='tensor')
    assert [o.shape for o in outputs[0]] == [o.shape for o in model(torch.randn(1, 3, 96, 96), mode='tensor')[0]]


@pytest.mark.parametrize(
    'config, args, message',
    [
        ('demos/mobilenetv2_fcos.py', ['--ratio', '0.3'], 'whose backbone is PPLCNet or PPLCNetV2'),
        ('demos/lcnet_deeplabv3plus_shapes.py', ['--ratio', '0.3'], 'pruning a segmentor is not supported yet'),
        ('demos/lcnet_cls_shapes.py', ['--ratio', '1.5'], r'ratio must be a number in \(0, 1\), got 1.5'),
    ],
)
def test_prune_tool_refuses_what_it_cannot_prune_in_one_line(tmp_path, config, args, message):
    import re

    checkpoint = tmp_path / 'none.pth'
    torch.save({'state_dict': {}}, checkpoint)
    proc = run_tool('prune', ROOT / 'configs' / config, checkpoint, *args, '--work-dir', tmp_path / 'w')
    assert proc.returncode == 2 and re.search(message, proc.stderr), proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'w').exists()


def test_prune_tool_prunes_picodet_whose_neck_takes_the_backbone_like_fpn(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    config = ROOT / 'configs' / 'demos' / 'picodet_shapes.py'
    checkpoint = trained_checkpoint(config, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool('prune', config, checkpoint, '--ratio', '0.3', '--input-size', '96', '96', '--work-dir', work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pair = work / 'picodet_shapes_pruned'
    pruned, cfg = build_model_from_config(f'{pair}.py', f'{pair}.pth')
    original, _ = build_model_from_config(str(config))
    assert list(cfg.model.neck.in_channels) == list(pruned.backbone.out_channels)
    assert list(pruned.backbone.out_channels) != list(original.backbone.out_channels)
    assert pruned.neck.out_channels == original.neck.out_channels  # LCPAN and the head keep their widths
