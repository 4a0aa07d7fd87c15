"""The toolboxes' own command-line tools (installed with mmdet and mmpretrain under ``.mim/tools/``) train,
resume and test this project's configs exactly as ``tools/train.py`` and ``tools/test.py`` do: whatever
makes the runs work lives in the configs, not in our launcher."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
LOADERS = ['num_workers=0', 'persistent_workers=False']
DETECTION = (
    'mmdet',
    'configs/lcnet_fcos.py',
    'coco/bbox_mAP',
    [
        'train_dataloader.dataset.num_images=6',
        'val_dataloader.dataset.num_images=3',
        'test_dataloader.dataset.num_images=3',
        'train_dataloader.batch_size=3',
        'val_dataloader.batch_size=3',
        'model.backbone.scale=0.5',
        'model.neck.in_channels=[64,128,256]',
    ],
)
CLASSIFICATION = (
    'mmpretrain',
    'configs/demos/lcnet_cls_shapes.py',
    'accuracy/top1',
    [
        'train_dataloader.dataset.num_images=8',
        'val_dataloader.dataset.num_images=5',
        'test_dataloader.dataset.num_images=5',
        'train_dataloader.batch_size=4',
        'val_dataloader.batch_size=5',
    ],
)


def toolbox_tool(toolbox: str, name: str) -> Path:
    return Path(importlib.util.find_spec(toolbox).submodule_search_locations[0]) / '.mim' / 'tools' / f'{name}.py'


def run(tool: Path, args, cwd) -> str:
    proc = subprocess.run(
        [sys.executable, str(tool), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f'{tool} {args}\n' + proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('toolbox, config, metric, tiny', [DETECTION, CLASSIFICATION], ids=['mmdet', 'mmpretrain'])
def test_toolbox_tools_train_resume_and_test_our_configs(tmp_path, toolbox, config, metric, tiny):
    options = [
        *tiny,
        *(
            f'{loader}.{setting}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for setting in LOADERS
        ),
    ]
    work = tmp_path / 'work'
    train, test = toolbox_tool(toolbox, 'train'), toolbox_tool(toolbox, 'test')
    assert train.is_file() and test.is_file()

    log = run(train, [ROOT / config, '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=1', *options], tmp_path)
    # The precision and memory format are measured and chosen by the config's hook, whichever tool runs it.
    assert re.search(r'TrainingModeHook: training in (BF16|float32) \+ (channels-last|NCHW)', log)
    # And the config's time budget by its loop.
    assert re.search(r'Budgeted(Epoch|Iter)BasedTrainLoop: trained [\d.]+ s of the 540 s budget', log)
    first = torch.load(work / 'epoch_1.pth', weights_only=True)  # the safe default reads it
    assert first['meta']['epoch'] == 1

    log = run(
        train,
        [ROOT / config, '--work-dir', work, '--resume', '--cfg-options', 'train_cfg.max_epochs=2', *options],
        tmp_path,
    )
    assert re.search(r'resumed epoch: 1, iter: \d+', log)
    second = torch.load(work / 'epoch_2.pth', weights_only=True)
    assert second['meta']['epoch'] == 2 and second['meta']['train_time_s'] > first['meta']['train_time_s']

    log = run(
        test,
        [ROOT / config, work / 'epoch_2.pth', '--work-dir', tmp_path / 'test', '--cfg-options', *options],
        tmp_path,
    )
    assert re.search(rf'Epoch\(test\).*{re.escape(metric)}: [\d.]+', log)
