"""A BF16 training run of the main job's config, killed mid-epoch by a real signal from outside, resumes
from its last checkpoint through ``tools/train.py --resume`` and ends with exactly the weights of an
uninterrupted run. Runs where the CPU has native BF16; the float32 case, and kills at 24 other instants
(checkpoint writes included), are in test_crash_consistency.py.

Exact equality needs a deterministic data pipeline, so this test switches the random flip off: the
random state of augmentation (in the data loader, and in its worker processes) is not part of an mmengine
checkpoint, so with random augmentation a resumed run sees other flips than the uninterrupted one and its
weights differ (by ~0.2 max abs here). Everything that *is* checkpointed (weights, AdamW state, lr
schedule, epoch/iteration counters, data order) is checked by the equality below.
"""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lcnet_mm.utils import native_bf16_features

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    'train_dataloader.dataset.num_images=24',
    'val_dataloader.dataset.num_images=2',
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'train_cfg.max_epochs=2',
    'param_scheduler.1.T_max=2',
    'param_scheduler.1.end=2',
    'default_hooks.logger.interval=1',
    'train_dataloader.dataset.pipeline.2.prob=0.0',
    'model.backbone.scale=0.5',
    'model.neck.in_channels=[64,128,256]',
    # One memory format for both runs: a measured choice could differ between the two (channels-last and NCHW
    # convolutions round differently). A resumed run keeps its own run's choice (test_training_mode.py).
    'default_hooks.training_mode.memory_format=channels_last',
    'default_hooks.training_mode.precision=fp32',  # --amp sets bf16 after these options
]


def train(work_dir, cwd, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / 'tools/train.py'),
            str(ROOT / 'configs/lcnet_fcos.py'),
            '--work-dir',
            str(work_dir),
            *extra,
            '--cfg-options',
            *TINY,
        ],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def learning_rates(log: str):
    return dict(re.findall(r'Epoch\(train\) +\[(\d+\]\[\s*\d+)/6\].*? lr: ([\d.e-]+)', log))


# --amp trains float32 where the CPU has no native BF16: there it would repeat the fault-injection test's case.
@pytest.mark.slow
@pytest.mark.skipif(not native_bf16_features(), reason='no native BF16')
def test_killed_bf16_run_resumes_to_the_same_weights(tmp_path):
    precision = ['--amp']
    full = train(tmp_path / 'full', tmp_path, *precision)
    full_log = full.communicate(timeout=600)[0]
    assert full.returncode == 0, full_log[-3000:]

    killed = train(tmp_path / 'killed', tmp_path, *precision)
    for line in killed.stdout:
        if 'Epoch(train) [2][3/6]' in line:  # mid-epoch, after epoch_1.pth was written
            killed.send_signal(signal.SIGKILL)
            break
    killed.wait(timeout=60)
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / 'killed' / 'epoch_2.pth').exists()

    resumed = train(tmp_path / 'killed', tmp_path, '--resume', *precision)
    resumed_log = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, resumed_log[-3000:]
    assert 'resumed epoch: 1, iter: 6' in resumed_log
    resumed_lrs, full_lrs = learning_rates(resumed_log), learning_rates(full_log)
    assert resumed_lrs and all(full_lrs[k] == v for k, v in resumed_lrs.items())  # the schedule continues

    expected = torch.load(tmp_path / 'full' / 'epoch_2.pth', weights_only=True)
    actual = torch.load(tmp_path / 'killed' / 'epoch_2.pth', weights_only=True)
    assert expected['state_dict'].keys() == actual['state_dict'].keys()
    for key, value in expected['state_dict'].items():
        assert torch.equal(value, actual['state_dict'][key]), key
    assert actual['meta']['train_time_s'] > 0  # the training clock carried over too
