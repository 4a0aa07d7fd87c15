"""Every shipped distillation config trains, given a teacher file made from its own teacher config: the teacher
config resolves (a file, or a toolbox's own config such as ``mmpretrain::resnet/...``), the teacher loads strictly
and passes the checks against the student, and one training step gives finite losses."""

from pathlib import Path

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from conftest import save_as_teacher
from lcnet_mm.builder import build_model_from_config, load_config, toolbox_of

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / 'configs' / 'distillation').glob('*.py'))


def classification_batch(n=2, size=64):
    from mmpretrain.structures import DataSample

    return dict(
        inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(n)],
        data_samples=[DataSample().set_gt_label(i) for i in range(n)],
    )


def detection_batch(n=2, size=128):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    samples = []
    for i in range(n):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        boxes = torch.tensor([[8.0, 8.0, 60.0, 50.0], [40.0 + i, 30.0, 110.0, 100.0]])
        sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 1]))
        samples.append(sample)
    return dict(
        inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(n)], data_samples=samples
    )


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: p.name)
def test_a_shipped_distillation_config_trains_with_a_teacher_made_from_its_teacher_config(config, tmp_path):
    cfg = load_config(str(config))
    toolbox = toolbox_of(cfg)
    teacher_config = cfg.model.teacher.config
    teacher, _ = build_model_from_config(teacher_config, scope=toolbox, set_default_scope=False)
    path = tmp_path / 'teacher.pth'
    save_as_teacher(teacher, path)
    del teacher

    student, _ = build_model_from_config(cfg, cfg_options={'model.teacher.checkpoint': str(path)})
    student.init_weights()  # as the runner does before training: builds, loads and checks the teacher
    assert student.teacher is not None and not student.teacher.training
    student.train()
    MessageHub.get_current_instance().update_info('iter', 0)  # what a runner keeps (batch resizing reads it)
    batch = classification_batch() if toolbox == 'mmpretrain' else detection_batch()
    losses = student.train_step(batch, OptimWrapper(torch.optim.SGD(student.parameters(), lr=0.01)))
    assert torch.isfinite(losses['loss']), losses
    assert any(key in losses for key in ('loss_distill', 'loss_ld')), sorted(losses)
