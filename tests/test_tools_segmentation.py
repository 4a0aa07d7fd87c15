"""The tools on segmentation configs, end to end on tiny embedded data with the real stack: tools/train.py
and tools/test.py (--show-dir draws masks) on the mmseg demo, tools/benchmark.py (mIoU from the checkpoint)
and tools/export_onnx.py on its checkpoint, and a short instance-segmentation run scored by mmdet's
CocoMetric (segm)."""

import json
import re
from pathlib import Path

import pytest
import torch

import tool_process
from conftest import load_tool

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / 'configs' / 'demos' / 'lcnet_deeplabv3plus_shapes.py')
HALF_WIDTH = [  # PP-LCNet x0.5 and the heads' inputs that go with it
    'model.backbone.scale=0.5',
    'model.decode_head.in_channels=256',
    'model.decode_head.c1_in_channels=32',
    'model.auxiliary_head.in_channels=128',
]
TINY = [
    'train_dataloader.dataset.num_images=8',
    'val_dataloader.dataset.num_images=4',
    'test_dataloader.dataset.num_images=4',
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
    *HALF_WIDTH,
]


def run_tool(tool, args, cwd, expect=0):
    proc = tool_process.run_tool(tool, *args, cwd=cwd)
    assert proc.returncode == expect, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout + proc.stderr


def miou(log: str, tag: str):
    return [float(m) for m in re.findall(rf'Iter\({tag}\).*?mIoU: ([\d.]+)', log)]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('seg_tools')
    work = tmp / 'work'
    tiny = [*TINY, f'train_dataloader.dataset.data_root={tmp}/data', f'val_dataloader.dataset.data_root={tmp}/data']
    log = run_tool(
        'train.py',
        [DEMO, '--work-dir', str(work), '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=2', *tiny],
        cwd=tmp,
    )
    return tmp, work, tiny, log


@pytest.mark.slow
def test_train_then_test_on_a_segmentation_config_reproduces_the_best_miou_and_draws_masks(trained):
    tmp, work, tiny, log = trained
    val = miou(log, 'val')
    assert len(val) == 2  # evaluated every val_interval iterations by mmseg's IoUMetric
    best = sorted(work.glob('best_mIoU_iter_*.pth'))
    assert len(best) == 1 and (work / 'iter_4.pth').is_file()
    assert torch.load(best[0], weights_only=True)['meta']['train_time_s'] > 0  # safe loader reads it
    best_iter = int(re.search(r'iter_(\d+)', best[0].name)[1])

    test_log = run_tool(
        'test.py', [DEMO, str(best[0]), '--work-dir', str(work), '--show-dir', 'vis', '--cfg-options', *tiny], cwd=tmp
    )
    assert miou(test_log, 'test') == [val[best_iter // 2 - 1]]
    drawn = list((work / 'vis').rglob('*.png'))
    assert len(drawn) == 4  # one picture of the predicted mask per test image


@pytest.mark.slow
def test_benchmark_and_export_take_a_segmentor(trained, capsys):
    tmp, work, tiny, _ = trained
    checkpoint = str(sorted(work.glob('best_mIoU_iter_*.pth'))[0])
    out = tmp / 'bench'
    # both tools in this process: their start-up (importing the stack) costs as much as their work here
    status = load_tool('benchmark').main(
        [
            DEMO,
            '--checkpoints',
            checkpoint,
            '--paths',
            'eager',
            'folded',  # (the ONNX graph is checked by export_onnx.py below; exporting twice costs time)
            '--rounds',
            '2',
            '--reps',
            '1',
            '--warmup',
            '1',
            '--throughput-batch',
            '0',
            '--out-dir',
            str(out),
            '--cfg-options',
            *tiny,
        ]
    )
    assert status == 0  # every model/path pair timed
    result = json.loads((out / 'results.json').read_text())
    assert result['settings']['input_size'] == [224, 224]  # the config's crop size
    rows = result['rows']
    assert [r['path'] for r in rows] == ['eager', 'folded'] and all(r['kind'] == 'segmentor' for r in rows)
    assert all(r['metric'] == 'mIoU' and 0 <= r['accuracy'] <= 100 for r in rows)
    assert all(r['latency_median_ms'] > 0 and r['max_abs_diff'] < 1e-3 for r in rows)

    # exit status 0: the ONNX Runtime outputs matched PyTorch's on two input shapes and the label maps agreed
    assert load_tool('export_onnx').main([DEMO, checkpoint, str(tmp / 'seg.onnx'), '--cfg-options', *HALF_WIDTH]) == 0
    printed = capsys.readouterr().out
    assert 'seg_logits' in printed and printed.count('label maps:') == 2 and 'FAILED' not in printed


@pytest.mark.slow
def test_a_short_instance_segmentation_run_is_scored_by_coco_segm(tmp_path):
    # RTMDet-Ins-tiny with PP-LCNet on the embedded COCO set (its json holds the shapes' polygons), one epoch
    # on 8 images: what counts is that mmdet's CocoMetric computes the segm metric from the predicted masks.
    config = tmp_path / 'rtmdet_ins_shapes.py'
    config.write_text(
        TINY_INSTANCE_CONFIG.format(
            base=ROOT / 'configs' / 'rtmdet' / 'rtmdet-ins-tiny_pplcnet-x0.75_8xb32-300e_coco.py',
            data=tmp_path / 'data',
        )
    )
    log = run_tool('train.py', [str(config), '--work-dir', str(tmp_path / 'work')], cwd=tmp_path)
    segm = re.findall(r'coco/segm_mAP: (-?[\d.]+)', log)
    assert segm and 0 <= float(segm[-1]) <= 1, log[-3000:]
    assert re.search(r'coco/bbox_mAP: [\d.]+', log)


TINY_INSTANCE_CONFIG = """
_base_ = '{base}'
data_root = '{data}/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),  # equal sizes: RTMDet-Ins stacks the masks
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 256), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
shapes = dict(_delete_=True, type='SyntheticShapesCoco', data_root=data_root)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(shapes, split='train', num_images=8, pipeline=train_pipeline),
)
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(shapes, split='val', num_images=4, test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val/instances.json')
test_evaluator = val_evaluator
model = dict(bbox_head=dict(num_classes=5), test_cfg=dict(score_thr=0.0))  # an untrained model still predicts masks
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = []
custom_hooks = []  # the base's EMA and its pipeline switch for the last epochs
"""
