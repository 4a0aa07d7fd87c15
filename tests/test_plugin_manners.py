"""Importing lcnet_mm changes nothing for models that are not ours: no function or scheme of mmengine, mmcv,
mmdet, mmpretrain or mmseg is replaced, no registry entry of theirs is added or replaced except our own names, and
their everyday fine-tuning path (a head of another num_classes skipped with a warning) works as they made it.
"""

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from lcnet_mm.io import CheckpointMismatchError
from lcnet_mm.registry import DATASETS, HOOKS, LOOPS, METRICS, MODELS, OPTIM_WRAPPERS, TOOLBOX_MODULES
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh process: import the whole stack, take a snapshot, import lcnet_mm, compare.
SNAPSHOT_SCRIPT = textwrap.dedent("""
    import importlib, json, sys
    import torch
    for name in ('mmengine.runner', 'mmengine.model', 'mmengine.hooks', 'mmengine.optim', 'mmengine.evaluator',
                 'mmcv.cnn', 'mmcv.ops', 'mmcv.transforms',
                 'mmdet.models', 'mmdet.datasets', 'mmdet.engine', 'mmdet.evaluation', 'mmdet.visualization',
                 'mmpretrain.models', 'mmpretrain.datasets', 'mmpretrain.engine', 'mmpretrain.evaluation',
                 'mmpretrain.visualization', 'mmseg.models', 'mmseg.datasets', 'mmseg.engine', 'mmseg.evaluation',
                 'mmseg.visualization', 'mmdet.registry', 'mmpretrain.registry', 'mmseg.registry'):
        importlib.import_module(name)
    from mmengine.registry import Registry, DefaultScope
    from mmengine.runner import CheckpointLoader
    OURS = ('lcnet_mm',)
    PACKAGES = ('mmengine', 'mmcv', 'mmdet', 'mmpretrain', 'mmseg', 'torch')

    def module_attributes():
        return {name: dict(vars(module)) for name, module in list(sys.modules.items())
                if module is not None and name.split('.')[0] in PACKAGES}

    def registries():
        import mmengine.registry as root
        found, stack = {}, [r for r in vars(root).values() if isinstance(r, Registry)]
        while stack:
            registry = stack.pop()
            found[f'{registry.scope}.{registry.name}'] = (registry, dict(registry.module_dict))
            stack.extend(registry.children.values())
        return found

    attributes, regs = module_attributes(), registries()
    schemes = dict(CheckpointLoader._schemes)
    from mmengine.fileio.backends import backends as file_backends
    file_backends_before = dict(file_backends)
    state = (torch.get_num_threads(), torch.get_default_dtype(), DefaultScope.get_current_instance())

    import lcnet_mm  # noqa: F401

    report = dict(replaced=[], added=[], registry_added={}, registry_replaced=[], schemes_added=[],
                  schemes_replaced=[], state_changed=False, new_registries=[])
    for name, before in attributes.items():
        after = vars(sys.modules[name])
        for key, value in before.items():
            if key not in after or after[key] is not value:
                if not key.startswith('__'):
                    report['replaced'].append(f'{name}.{key}')
        for key, value in after.items():
            # a submodule imported for the first time appears on its package: not a change of behaviour
            if key not in before and not key.startswith('__') and type(value).__name__ != 'module':
                report['added'].append(f'{name}.{key}')
    for key, (registry, before) in regs.items():
        after = registry.module_dict
        report['registry_replaced'] += [f'{key}:{k}' for k, v in before.items() if after.get(k) is not v]
        added = sorted(set(after) - set(before))
        if added:
            report['registry_added'][key] = added
    report['new_registries'] = sorted(set(registries()) - set(regs))
    report['schemes_added'] = sorted(set(CheckpointLoader._schemes) - set(schemes))
    report['schemes_replaced'] = [k for k, v in schemes.items() if CheckpointLoader._schemes.get(k) is not v]
    report['file_backends_added'] = sorted(set(file_backends) - set(file_backends_before))
    report['file_backends_replaced'] = [k for k, v in file_backends_before.items() if file_backends.get(k) is not v]
    report['state_changed'] = state != (torch.get_num_threads(), torch.get_default_dtype(),
                                        DefaultScope.get_current_instance())
    print(json.dumps(report))
""")


def test_importing_lcnet_mm_changes_nothing_of_theirs(tmp_path):
    script = tmp_path / 'snapshot.py'
    script.write_text(SNAPSHOT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['replaced'] == [], 'lcnet_mm reassigned attributes of the stack'
    assert report['added'] == []
    assert report['registry_replaced'] == []
    assert report['schemes_replaced'] == []
    assert not report['state_changed']
    # Only our names, only in the toolboxes' own registries (none in mmengine's root registries); our own
    # scope is a new child registry.
    expected = {
        f'{toolbox}.{getattr(importlib.import_module(f"{toolbox}.registry"), registry).name}': sorted(names)
        for toolbox, registries in TOOLBOX_MODULES.items()
        for registry, names in registries.items()
    }
    assert report['registry_added'] == expected
    assert set(report['new_registries']) == {
        f'lcnet_mm.{r.name}' for r in (MODELS, DATASETS, METRICS, HOOKS, LOOPS, OPTIM_WRAPPERS)
    }
    assert report['schemes_added'] == ['hf://', 'paddle://', 'timm://']
    assert report['file_backends_added'] == ['atomic_local'] and report['file_backends_replaced'] == []


def test_a_name_another_package_took_is_never_replaced(tmp_path):
    script = tmp_path / 'clash.py'
    script.write_text(
        textwrap.dedent("""
        import torch.nn as nn
        from mmdet.registry import MODELS

        @MODELS.register_module()
        class PPLCNet(nn.Module):  # somebody else's
            pass

        import lcnet_mm  # noqa: F401

        MODELS.get('FCOS')  # mmdet's first look-up: where lcnet_mm registers into mmdet
    """)
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert (
        "mmdet.registry.MODELS already has a 'PPLCNet' (__main__.PPLCNet); lcnet_mm does not replace it" in proc.stderr
    )


def retinanet(num_classes):
    from mmdet.registry import MODELS
    from mmengine.config import Config

    cfg = Config.fromfile(str(ROOT / 'tests' / 'fixtures' / 'retinanet_r18_shapes.py'))
    cfg.model.bbox_head.num_classes = num_classes
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


def test_mmdet_fine_tuning_loads_with_a_warning_in_a_process_that_imported_lcnet_mm(tmp_path, caplog):
    """The bug report, as a user met it: an mmdet model with nothing of ours, 80 -> 5 classes."""
    import lcnet_mm  # noqa: F401

    source = retinanet(80)
    path = tmp_path / 'retinanet_80_classes.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    target = retinanet(5)
    load_checkpoint(target, str(path), strict=False, logger='current')  # must not raise
    loaded, own = source.state_dict(), target.state_dict()
    skipped = [k for k in own if not torch.equal(own[k], loaded[k])]
    assert sorted(skipped) == ['bbox_head.retina_cls.bias', 'bbox_head.retina_cls.weight']


def test_another_width_is_refused_by_pplcnet_naming_the_tensors(tmp_path):
    from lcnet_mm import PPLCNet

    path = tmp_path / 'x1.0.pth'
    torch.save({'state_dict': PPLCNet(scale=1.0).state_dict()}, path)
    with pytest.raises(
        CheckpointMismatchError,
        match=r'PPLCNet\(scale=0.5\).*stem.conv.weight: checkpoint '
        r'\(16, 3, 3, 3\) vs model \(8, 3, 3, 3\)',
    ):
        load_checkpoint(PPLCNet(scale=0.5), str(path))
    # through init_cfg the file is named too
    backbone = PPLCNet(scale=0.5, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointMismatchError, match=r'x1.0.pth does not fit the model \(PPLCNet\(scale=0.5\)\)'):
        backbone.init_weights()


def test_head_conv_of_another_width_is_refused_but_another_num_classes_is_skipped(tmp_path, mmpretrain_scope):
    from lcnet_mm import LCNetClsHead

    path = tmp_path / 'head.pth'
    torch.save(LCNetClsHead(num_classes=1000, in_channels=512).state_dict(), path)
    five = LCNetClsHead(num_classes=5, in_channels=512)
    load_checkpoint(five, str(path), logger='current')  # the fc of 1000 classes: skipped, with mmengine's warning
    assert torch.equal(five.head_conv.conv.weight, torch.load(path, weights_only=True)['head_conv.conv.weight'])
    with pytest.raises(CheckpointMismatchError, match=r'LCNetClsHead\(in_channels=256\).*head_conv.conv.weight'):
        load_checkpoint(LCNetClsHead(num_classes=5, in_channels=256), str(path))


# ---- the real workflows, through tools/train.py ---------------------------------------------------------
def fine_tune(config, checkpoint, tmp_path, *options):
    """``tools/train.py CONFIG --cfg-options ... load_from=CHECKPOINT``; returns the process and its work dir."""
    work = tmp_path / 'work'
    args = [ROOT / config, '--work-dir', work, '--cfg-options', *options, f'load_from={checkpoint}']
    return run_tool('train', *args, cwd=tmp_path), work


def classifier(config):
    """The model of a classification config, with random weights."""
    from lcnet_mm.apis import build_model_from_config

    model, _ = build_model_from_config(str(ROOT / config))
    model.init_weights()
    return model


TINY_CLS = [
    'train_dataloader.dataset.num_images=8',
    'val_dataloader.dataset.num_images=5',
    'train_dataloader.batch_size=4',
    'val_dataloader.batch_size=5',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'train_cfg.max_epochs=1',
    # lr 0: after training, every loaded parameter is still exactly what the checkpoint held
    'optim_wrapper.optimizer.lr=0.0',
    'optim_wrapper.optimizer.weight_decay=0.0',
]


@pytest.mark.slow
def test_train_py_fine_tunes_an_mmdet_detector_to_another_num_classes(tmp_path):
    source = retinanet(80).state_dict()
    checkpoint = tmp_path / 'retinanet_80_classes.pth'
    torch.save({'state_dict': source}, checkpoint)
    proc, work = fine_tune('tests/fixtures/retinanet_r18_shapes.py', checkpoint, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'size mismatch for bbox_head.retina_cls.weight' in proc.stdout + proc.stderr  # mmengine's warning
    trained = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    skipped = sorted(key for key, value in source.items() if value.shape != trained[key].shape)
    assert skipped == ['bbox_head.retina_cls.bias', 'bbox_head.retina_cls.weight']
    assert all(torch.equal(trained[key], value) for key, value in source.items() if key not in skipped)


@pytest.mark.slow
def test_train_py_fine_tunes_a_pplcnet_classifier_to_another_num_classes(tmp_path, mmpretrain_scope):
    source = classifier('configs/pplcnet/pplcnet-x0.5_8xb256_in1k.py')  # ImageNet layout: 1000 classes
    checkpoint = tmp_path / 'pplcnet_x0.5_in1k.pth'
    torch.save({'state_dict': source.state_dict()}, checkpoint)
    proc, work = fine_tune('configs/demos/lcnet_cls_shapes.py', checkpoint, tmp_path, *TINY_CLS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'size mismatch for head.fc.weight' in proc.stdout + proc.stderr
    trained = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    parameters = [name for name, _ in source.named_parameters()]
    assert trained['head.fc.weight'].shape == (5, 1280)
    shared = [name for name in parameters if not name.startswith('head.fc.')]
    assert len(shared) > 80 and all(torch.equal(trained[name], source.state_dict()[name]) for name in shared)


@pytest.mark.slow
def test_train_py_refuses_a_checkpoint_of_another_width_naming_it(tmp_path, mmpretrain_scope):
    checkpoint = tmp_path / 'pplcnet_x1.0_in1k.pth'
    torch.save({'state_dict': classifier('configs/pplcnet/pplcnet-x1.0_8xb256_in1k.py').state_dict()}, checkpoint)
    proc, _ = fine_tune('configs/demos/lcnet_cls_shapes.py', checkpoint, tmp_path, *TINY_CLS)
    assert proc.returncode != 0
    assert proc.returncode == 2 and 'error: ' in proc.stderr and 'Traceback' not in proc.stderr  # one line
    assert (
        f'{checkpoint} does not fit the model (PPLCNet(scale=0.5))' in proc.stderr
        and 'backbone.stem.conv.weight: checkpoint (16, 3, 3, 3) vs model (8, 3, 3, 3)' in proc.stderr
    )


def test_init_cfg_pretrained_loads_a_classifier_backbone_into_a_detector(tmp_path, mmpretrain_scope):
    source = classifier('configs/pplcnet/pplcnet-x1.0_8xb256_in1k.py')
    checkpoint = tmp_path / 'pplcnet_x1.0_in1k.pth'
    torch.save({'state_dict': source.state_dict()}, checkpoint)
    from mmdet.registry import MODELS
    from mmengine.config import Config

    cfg = Config.fromfile(str(ROOT / 'configs/lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint), prefix='backbone.')
    with DefaultScope.overwrite_default_scope('mmdet'):
        detector = MODELS.build(cfg.model)
        detector.init_weights()
    loaded = detector.backbone.state_dict()
    assert all(torch.equal(value, source.backbone.state_dict()[key]) for key, value in loaded.items())
    # and the same file into another width is refused, naming it
    cfg.model.backbone.scale = 0.5
    with DefaultScope.overwrite_default_scope('mmdet'):
        other = MODELS.build(cfg.model)
        with pytest.raises(CheckpointMismatchError, match='pplcnet_x1.0_in1k.pth does not fit'):
            other.init_weights()


def test_init_cfg_of_an_mmdet_detector_with_another_num_classes_warns_and_loads(tmp_path):
    source = retinanet(80)
    checkpoint = tmp_path / 'retinanet_80_classes.pth'
    torch.save({'state_dict': source.state_dict()}, checkpoint)
    target = retinanet(5)
    target.init_cfg = dict(type='Pretrained', checkpoint=str(checkpoint))
    target.init_weights()
    assert torch.equal(target.neck.fpn_convs[0].conv.weight, source.neck.fpn_convs[0].conv.weight)


def test_checkpoint_schemes_convert_on_load(tmp_path):
    """paddle://, timm:// and hf:// read the other implementations' files through the converter, wherever
    mmengine accepts a checkpoint path; a prefix that does not match the file is named."""
    import timm
    from mmengine.runner.checkpoint import _load_checkpoint
    from safetensors.torch import save_file

    from lcnet_mm.converters import convert_weights

    path = tmp_path / 'lcnet_050.safetensors'
    save_file(timm.create_model('lcnet_050', pretrained=False).state_dict(), str(path))
    loaded = _load_checkpoint(f'timm://{path}')['state_dict']
    expected = convert_weights(path)[0]['state_dict']
    assert loaded.keys() == expected.keys() and all(torch.equal(loaded[k], expected[k]) for k in loaded)
    with pytest.raises(
        ValueError,
        match=r'paddle:// expects paddle or paddle_v2 or paddle_picodet or paddle_ppocr_det weights, but the file '
        r'holds timm weights; '
        r'load it as timm://',
    ):
        _load_checkpoint(f'paddle://{path}')
    # a PPLCNet x0.5 backbone initialised from it: Pretrained with a prefix, as in a detector config
    from lcnet_mm import PPLCNet

    backbone = PPLCNet(scale=0.5, init_cfg=dict(type='Pretrained', checkpoint=f'timm://{path}', prefix='backbone.'))
    backbone.init_weights()
    assert torch.equal(backbone.stem.conv.weight, expected['backbone.stem.conv.weight'])
