"""Every path that reads a checkpoint refuses a crafted pickle without running it.

mmengine's own paths (load_from, --resume, init_cfg Pretrained) rely on torch >= 2.6 loading with
weights_only=True by default; this project's configs stop a run that would switch that default off
(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD). This project's own loaders pass weights_only=True explicitly.
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint

from conftest import RunsACommand, load_tool
from lcnet_mm.io import UnsafeWeightFileError
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    'train_dataloader.dataset.num_images=2',
    'val_dataloader.dataset.num_images=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
]


@pytest.fixture
def crafted(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'backbone.stem.conv.weight': RunsACommand(marker)}, 'meta': {}}, path)
    assert not marker.exists()
    return path, marker


def test_mmengine_local_loading_is_weights_only(crafted):
    path, marker = crafted
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        _load_checkpoint(str(path), map_location='cpu')  # what load_from and resume call
    assert not marker.exists()


def test_pretrained_init_refuses_crafted_file(crafted):
    path, marker = crafted
    cfg = Config.fromfile(str(ROOT / 'configs/lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    init_default_scope('mmdet')
    from mmdet.registry import MODELS

    detector = MODELS.build(cfg.model)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        detector.init_weights()
    assert not marker.exists()


def train(args, cwd, **env):
    if not env:
        return run_tool('train', *args, cwd=cwd, timeout=300)
    return subprocess.run(  # a variable the process reads when it starts: a fresh interpreter
        [sys.executable, str(ROOT / 'tools/train.py'), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize('flag', ['--resume', 'load_from'])
def test_train_resume_and_load_from_refuse_crafted_file(crafted, tmp_path, flag):
    path, marker = crafted
    config = str(ROOT / 'configs/lcnet_fcos.py')
    args = (
        [config, '--resume', str(path), '--work-dir', str(tmp_path / 'w'), '--cfg-options', *TINY]
        if flag == '--resume'
        else [config, '--work-dir', str(tmp_path / 'w'), '--cfg-options', *TINY, f'load_from={path}']
    )
    proc = train(args, tmp_path)
    assert proc.returncode != 0
    # one line, before the runner: the file is read with weights_only=True and refused
    assert proc.returncode == 2 and 'weights_only=True' in proc.stderr and 'crafted.pth' in proc.stderr
    assert not marker.exists()


def test_switching_torch_to_unsafe_loading_is_refused_before_anything_loads(crafted, tmp_path):
    """TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (a common work-around for mmengine resume errors) would make
    mmengine's torch.load unpickle with code execution allowed; the configs' hook stops the run first."""
    path, marker = crafted
    proc = train(
        [
            str(ROOT / 'configs/lcnet_fcos.py'),
            '--work-dir',
            str(tmp_path / 'w'),
            '--cfg-options',
            *TINY,
            f'load_from={path}',
        ],
        tmp_path,
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1',
    )
    assert proc.returncode != 0
    # the tools read the file themselves with weights_only=True, which the variable does not override
    assert proc.returncode == 2 and 'weights_only=True' in proc.stderr and 'Not loaded' in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize('tool', ['export_onnx', 'switch_to_deploy', 'benchmark'])
def test_deploy_tools_refuse_crafted_file(crafted, tmp_path, tool):
    path, marker = crafted
    config = str(ROOT / 'configs/lcnet_fcos.py')
    argv = {
        'export_onnx': [config, str(path), str(tmp_path / 'x.onnx')],
        'switch_to_deploy': [config, str(path), str(tmp_path / 'x.pth')],
        'benchmark': [config, '--checkpoints', str(path), '--out-dir', str(tmp_path / 'b')],
    }[tool]
    with pytest.raises(UnsafeWeightFileError, match='crafted.pth'):
        load_tool(tool).main(argv)
    assert not marker.exists()


def test_paddle_scheme_refuses_crafted_pdparams(tmp_path):
    import lcnet_mm  # noqa: F401  (adds the paddle:// scheme)

    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pdparams'
    with open(path, 'wb') as f:
        pickle.dump({'conv1.conv.weight': np.zeros((8, 3, 3, 3), np.float32), 'x': RunsACommand(marker)}, f)
    with pytest.raises(UnsafeWeightFileError, match='evil.pdparams'):
        _load_checkpoint(f'paddle://{path}')
    assert not marker.exists()
