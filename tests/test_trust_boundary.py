"""Every path that reads a checkpoint refuses a crafted pickle without running it."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from conftest import RunsACommand
from lcnet_mm.converters import UnsafeWeightFileError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def crafted(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'backbone.stem.conv.weight': RunsACommand(marker)}, 'meta': {}}, path)
    assert not marker.exists()
    return path, marker


def test_mmengine_local_loading_is_weights_only(crafted):
    path, marker = crafted
    with pytest.raises(UnsafeWeightFileError, match='crafted.pth'):
        _load_checkpoint(str(path), map_location='cpu')  # what load_from and resume call
    assert not marker.exists()


def test_pretrained_init_refuses_crafted_file(crafted):
    path, marker = crafted
    cfg = Config.fromfile(str(ROOT / 'configs/lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    detector = MODELS.build(cfg.model)
    with pytest.raises(UnsafeWeightFileError):
        detector.init_weights()
    assert not marker.exists()


@pytest.mark.parametrize('flag', ['--resume', 'load_from'])
def test_train_resume_and_load_from_refuse_crafted_file(crafted, tmp_path, flag):
    path, marker = crafted
    args = [str(ROOT / 'tools/train.py'), str(ROOT / 'configs/lcnet_fcos.py'), '--work-dir', str(tmp_path / 'w'),
            '--cfg-options', 'train_dataloader.dataset.num_images=2', 'val_dataloader.dataset.num_images=2',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    args = args[:2] + ['--resume', str(path)] + args[2:] if flag == '--resume' else args + [f'load_from={path}']
    proc = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'UnsafeWeightFileError' in proc.stderr and 'crafted.pth' in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize('tool', ['export_onnx', 'switch_to_deploy', 'benchmark'])
def test_deploy_tools_refuse_crafted_file(crafted, tmp_path, tool):
    from conftest import load_tool
    path, marker = crafted
    config = str(ROOT / 'configs/lcnet_fcos.py')
    argv = {'export_onnx': [config, str(path), str(tmp_path / 'x.onnx')],
            'switch_to_deploy': [config, str(path), str(tmp_path / 'x.pth')],
            'benchmark': [config, '--checkpoints', str(path), '--out-dir', str(tmp_path / 'b')]}[tool]
    with pytest.raises(UnsafeWeightFileError, match='crafted.pth'):
        load_tool(tool).main(argv)
    assert not marker.exists()
