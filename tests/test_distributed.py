"""Two processes on the CPU (gloo) through tools/dist_train.sh: both ranks end with identical weights.

DDP keeps parameters identical by averaging gradients; BN running statistics are updated from each
rank's own batches, so the configs carry mmengine's SyncBuffersHook to average them after every epoch
(without it, rank 1's BN statistics differ from rank 0's after the last iteration).
"""

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import torch

from lcnet_mm.utils import native_bf16_features

ROOT = Path(__file__).resolve().parents[1]

DUMP_HOOK = textwrap.dedent("""
    import torch
    from mmengine.dist import get_rank
    from mmengine.hooks import Hook
    from mmengine.registry import HOOKS

    @HOOKS.register_module()
    class DumpRankWeights(Hook):
        def after_train(self, runner):
            model = getattr(runner.model, 'module', runner.model)
            torch.save(model.state_dict(), f'{runner.work_dir}/rank{get_rank()}.pth')
""")


# --amp trains float32 where the CPU has no native BF16: there the amp case would repeat the fp32 one exactly.
AMP = pytest.param(['--amp'], id='amp', marks=pytest.mark.skipif(not native_bf16_features(), reason='no native BF16'))


@pytest.mark.slow
@pytest.mark.parametrize('precision', [pytest.param([], id='fp32'), AMP])
def test_two_cpu_processes_train_identically(tmp_path, precision):
    (tmp_path / 'dump_rank_weights.py').write_text(DUMP_HOOK)
    config = tmp_path / 'dist.py'
    config.write_text(
        textwrap.dedent(f"""
        _base_ = '{ROOT / 'configs/lcnet_fcos.py'}'
        custom_imports = dict(imports=['lcnet_mm', 'dump_rank_weights'], allow_failed_imports=False)
        custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook'),
                        dict(type='DumpRankWeights')]
    """)
    )
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=str(tmp_path), PORT='29534' if precision else '29533', OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            'bash',
            str(ROOT / 'tools/dist_train.sh'),
            str(config),
            '2',
            '--work-dir',
            str(work),
            *precision,
            '--cfg-options',
            'train_dataloader.dataset.num_images=16',
            'val_dataloader.dataset.num_images=4',
            'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False',
            'val_dataloader.batch_size=2',
            'train_cfg.max_epochs=1',
            'model.backbone.scale=0.5',
            'model.neck.in_channels=[64,128,256]',
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log or 'launcher: pytorch' in log
    assert (work / 'epoch_1.pth').is_file()
    rank0 = torch.load(work / 'rank0.pth', weights_only=True)
    rank1 = torch.load(work / 'rank1.pth', weights_only=True)
    saved = torch.load(work / 'epoch_1.pth', weights_only=True)['state_dict']
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
        assert torch.equal(value, saved[key]), key
    # 16 images over 2 ranks x batch 2: 4 iterations per rank, not 8.
    assert 'Epoch(train) [1][4/4]' in log
