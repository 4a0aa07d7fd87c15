"""tools/prune.py: a trained classifier's, detector's or segmentor's PP-LCNet pruned by a ratio or to a target, in
steps with fine-tuning, written as a config and a checkpoint that every tool takes (ours, the toolboxes', INT8)."""

import re
from pathlib import Path

import pytest
import torch

from test_deploy import trained_like
from test_toolbox_tools import run as run_toolbox_tool
from test_toolbox_tools import toolbox_tool
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
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


def pruned_at_a_ratio(config, tmp_path):
    """tools/prune.py --ratio 0.3 on ``config`` with backbone weights like trained ones, at 96x96: the pruned
    model, loaded strictly from the written pair, and its config."""
    from lcnet_mm.apis import build_model_from_config

    checkpoint = trained_checkpoint(config, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool('prune', config, checkpoint, '--ratio', '0.3', '--input-size', '96', '96', '--work-dir', work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pair = work / f'{Path(config).stem}_pruned'
    return build_model_from_config(f'{pair}.py', f'{pair}.pth')


def proc_log(work_dir) -> str:
    return ''.join(p.read_text() for p in work_dir.glob('*/*.log'))


@pytest.mark.slow
def test_prune_tool_writes_a_config_and_checkpoint_every_tool_takes(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    checkpoint = trained_checkpoint(CLASSIFIER, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool('prune', CLASSIFIER, checkpoint, '--ratio', '0.4', '--input-size', '64', '64', '--work-dir', work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| original |' in proc.stdout and '| pruned |' in proc.stdout and 'MACs x0.' in proc.stdout
    assert 'output widths kept: backbone.stem, head.fc (' in proc.stdout  # the stem and the classes
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
    # mmpretrain's own test tool takes the pair too: the pruned model is in the config, not in our launcher
    log = run_toolbox_tool(
        toolbox_tool('mmpretrain', 'test'),
        [config, pruned, '--work-dir', tmp_path / 'mm_test', '--cfg-options', *TINY_CLS],
        tmp_path,
    )
    assert re.search(r'Epoch\(test\).*accuracy/top1: [\d.]+', log)


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
    assert 'output widths kept: backbone.stem, neck, bbox_head (' in proc.stdout
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
        ('demos/lcnet_cls_shapes.py', ['--ratio', '1.5'], r'ratio must be a number in \(0, 1\), got 1.5'),
        ('demos/lcnet_cls_shapes.py', ['--ratio', '0.3', '--steps', '2'], r'--steps 2 needs --finetune-budget S'),
        ('demos/lcnet_cls_shapes.py', ['--ratio', '0.3', '--target-macs', '1'], 'not allowed with argument'),
        ('lcnet_fcos.py', ['--ratio', '0.3', '--distill'], r'this model is a FCOS with FCOSHead'),
    ],
)
def test_prune_tool_refuses_what_it_cannot_prune_in_one_line(tmp_path, config, args, message):
    checkpoint = tmp_path / 'none.pth'
    torch.save({'state_dict': {}}, checkpoint)
    proc = run_tool('prune', ROOT / 'configs' / config, checkpoint, *args, '--work-dir', tmp_path / 'w')
    assert proc.returncode == 2 and re.search(message, proc.stderr), proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr and not (tmp_path / 'w').exists()


@pytest.mark.slow
def test_prune_tool_meets_a_macs_target_and_prunes_the_wide_head_conv_too(tmp_path):
    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.measures import count_flops
    from lcnet_mm.deploy import RawOutputs

    config = ROOT / 'configs' / 'pruning' / 'pplcnet-x1.0_shapes.py'
    narrower = ROOT / 'configs' / 'pruning' / 'pplcnet-x0.75_shapes.py'
    images = torch.zeros(1, 3, 64, 64)

    def macs(model):
        return count_flops(RawOutputs(model.eval()).eval(), images)['flops'] / 1e9

    target = macs(build_model_from_config(str(narrower))[0])
    checkpoint = trained_checkpoint(config, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool(
        'prune', config, checkpoint, '--target-macs', f'{target:.6f}', '--input-size', '64', '64', '--work-dir', work
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'--target-macs [\d.]+: ratio 0\.\d+ reaches', proc.stdout) and '| head conv |' in proc.stdout
    model, cfg = build_model_from_config(
        str(work / 'pplcnet-x1.0_shapes_pruned.py'), str(work / 'pplcnet-x1.0_shapes_pruned.pth')
    )
    assert 0.9 * target < macs(model) <= target  # met, and not by pruning far more than it needs
    assert cfg.model.head.head_channels == model.head.head_conv.conv.out_channels < 1280
    assert model.head.fc.out_features == 5  # the classes are kept

    # INT8 composes with pruning: tools/quantize.py takes the pruned pair
    proc = run_tool(
        'quantize', work / 'pplcnet-x1.0_shapes_pruned.py', work / 'pplcnet-x1.0_shapes_pruned.pth', tmp_path / 'int8',
        '--backend', 'onnxruntime', '--calib', '4', '--no-eval', cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert any(p.name.endswith('-int8.onnx') for p in (tmp_path / 'int8').iterdir())


def test_prune_tool_prunes_a_segmentors_backbone_and_its_decode_heads_inputs(tmp_path):
    pruned, cfg = pruned_at_a_ratio(ROOT / 'configs' / 'demos' / 'lcnet_deeplabv3plus_shapes.py', tmp_path)
    stages = pruned.backbone.out_channels  # strides 4, 16, 16
    assert list(stages) != [64, 256, 512]
    assert cfg.model.decode_head.in_channels == stages[2] and cfg.model.decode_head.c1_in_channels == stages[0]
    assert cfg.model.auxiliary_head.in_channels == stages[1]
    assert pruned.decode_head.channels == 128  # the heads keep their own widths
    with torch.no_grad():
        logits = pruned(torch.randn(1, 3, 96, 96), mode='tensor')
    assert logits.shape == (1, 6, 96 // 4, 96 // 4)


@pytest.mark.slow
def test_prune_tool_prunes_in_steps_with_fine_tuning_and_writes_a_distillation_config(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    checkpoint = trained_checkpoint(CLASSIFIER, tmp_path / 'trained.pth')
    work = tmp_path / 'pruned'
    proc = run_tool(
        'prune', CLASSIFIER, checkpoint, '--ratio', '0.4', '--steps', '2', '--finetune-budget', '3', '--distill',
        '--input-size', '64', '64', '--work-dir', work, '--cfg-options', *TINY_TRAIN, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'step 1 of 2: pruned 20.0% of what was left; fine-tuning' in proc.stdout
    step = work / 'step_1'
    assert (step / 'lcnet_cls_shapes_pruned.py').is_file() and list((step / 'fine_tune').glob('*/*.log'))
    assert 'DistilledImageClassifier' in proc_log(step / 'fine_tune')  # fine-tuned learning from the unpruned
    first, _ = build_model_from_config(str(step / 'lcnet_cls_shapes_pruned.py'))
    final, _ = build_model_from_config(
        str(work / 'lcnet_cls_shapes_pruned.py'), str(work / 'lcnet_cls_shapes_pruned.pth')
    )
    assert final.backbone.stage_channels[-1] < first.backbone.stage_channels[-1] < 256

    distill = work / 'lcnet_cls_shapes_pruned_distill.py'
    proc = run_tool('train', distill, '--work-dir', tmp_path / 'distil', '--cfg-options', 'train_cfg.max_epochs=1',
                    'train_cfg.time_budget_s=None', *TINY_TRAIN, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the student's checkpoint is the pruned model alone: it loads strictly into the plain pruned config
    build_model_from_config(str(work / 'lcnet_cls_shapes_pruned.py'), str(tmp_path / 'distil' / 'epoch_1.pth'))


def test_prune_tool_prunes_picodet_whose_neck_takes_the_backbone_like_fpn(tmp_path):
    from lcnet_mm.apis import build_model_from_config

    config = ROOT / 'configs' / 'demos' / 'picodet_shapes.py'
    pruned, cfg = pruned_at_a_ratio(config, tmp_path)
    original, _ = build_model_from_config(str(config))
    assert list(cfg.model.neck.in_channels) == list(pruned.backbone.out_channels)
    assert list(pruned.backbone.out_channels) != list(original.backbone.out_channels)
    assert pruned.neck.out_channels == original.neck.out_channels  # LCPAN and the head keep their widths
