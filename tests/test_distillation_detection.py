"""Localization distillation for PicoDet: the LD term on hand-made distributions, a frozen teacher detector,
the student's checkpoint in the plain student config, mmdet's own distillation detector driving our head,
and the refusals of a teacher that cannot teach this student."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from conftest import save_as_teacher
from lcnet_mm.io.state_dicts import CheckpointMismatchError
from lcnet_mm.models import DistilledSingleStageDetector, LDPicoHead, LDPicoHeadV2, PicoHeadV2

ROOT = Path(__file__).resolve().parents[1]
TEACHER_CONFIG = str(ROOT / 'configs/demos/picodet_shapes.py')  # PicoDet-S
STUDENT_CONFIG = str(ROOT / 'configs/demos/picodet_xs_shapes.py')  # PicoDet-XS
DISTILLED_CONFIG = str(ROOT / 'configs/distillation/picodet-xs_ld-picodet-s_shapes.py')


@pytest.fixture(autouse=True)
def _mmdet_scope():
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def build(cfg):
    from mmdet.registry import MODELS

    return MODELS.build(cfg)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def ground_truth(num_images=2, size=128):
    generator = torch.Generator().manual_seed(0)
    instances = []
    for _ in range(num_images):
        corners = torch.rand(3, 2, generator=generator) * size / 2
        sizes = 16 + torch.rand(3, 2, generator=generator) * size / 3
        instances.append(InstanceData(bboxes=torch.cat([corners, corners + sizes], 1), labels=torch.tensor([0, 1, 2])))
    metas = [dict(img_shape=(size, size), pad_shape=(size, size), batch_input_shape=(size, size))] * num_images
    return instances, metas


def levels(batch, channels, size=128, strides=(8, 16, 32, 64)):
    return [torch.randn(batch, channels, size // s, size // s) for s in strides]


# ---- the LD term ------------------------------------------------------------------------------------
def test_ld_term_by_hand_and_the_plain_losses_unchanged():
    train_cfg = Config(dict(assigner=dict(type='TaskAlignedAssigner', topk=13)))
    head = LDPicoHeadV2(
        num_classes=3, in_channels=16, train_cfg=train_cfg, loss_ld=dict(type='KnowledgeDistillationKLDivLoss', T=4)
    )
    plain = PicoHeadV2(num_classes=3, in_channels=16, train_cfg=train_cfg)
    plain.load_state_dict(head.state_dict())  # the same parameters: LD adds none
    instances, metas = ground_truth()
    scores, student = head(levels(2, 16))
    teacher = [torch.randn_like(d) * 3 for d in student]
    losses = head.loss_by_feat(scores, student, instances, metas, teacher)
    reference = plain.loss_by_feat(scores, student, instances, metas)
    assert set(losses) == set(reference) | {'loss_ld'}
    for name, value in reference.items():
        torch.testing.assert_close(losses[name], value)

    # by hand: sum over positives' sides of weight * T^2 * mean over bins of KL(teacher || student),
    # divided by 4 * the soft targets' sum, as the DFL term is
    _, positives = head.losses_and_positives(scores, student, instances, metas)
    bins, temperature = head.reg_max + 1, 4.0

    def rows(preds):
        flat = np.concatenate([p.detach().permute(0, 2, 3, 1).reshape(2, -1, 4 * bins).numpy() for p in preds], 1)
        return flat.reshape(-1, 4 * bins)[positives['index'].numpy()].reshape(-1, bins)

    p_s, p_t = softmax(rows(student) / temperature), softmax(rows(teacher) / temperature)
    per_side = temperature**2 * (p_t * np.log(p_t / p_s)).mean(1)
    weights = np.repeat(positives['weights'].numpy(), 4)
    assert len(positives['index']) > 0
    expected = (weights * per_side).sum() / (4 * positives['avg_factor'])
    assert losses['loss_ld'].item() == pytest.approx(expected, rel=1e-5)

    same = head.loss_by_feat(scores, student, instances, metas, [d.detach() for d in student])
    assert same['loss_ld'].item() == pytest.approx(0.0, abs=1e-6)
    losses['loss_ld'].backward()  # the gradient reaches the student only
    assert head.reg_preds[0].weight.grad is not None
    with pytest.raises(ValueError, match=r"teacher's box distributions have the shapes \[\(2, 16, 16, 16\)"):
        head.loss_by_feat(scores, student, instances, metas, [d[:, :16] for d in teacher])


def test_v1_head_distils_too():
    head = LDPicoHead(num_classes=3, in_channels=16, train_cfg=Config(dict(assigner=dict(type='SimOTAAssigner'))))
    instances, metas = ground_truth()
    scores, student = head(levels(2, 16))
    losses = head.loss_by_feat(scores, student, instances, metas, [torch.randn_like(d) for d in student])
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl', 'loss_ld'} and losses['loss_ld'] > 0


# ---- the teacher-student detector -------------------------------------------------------------------
@pytest.fixture
def teacher(tmp_path):
    """A trained-looking PicoDet-S teacher: random weights and BN statistics, saved as a checkpoint."""
    path = tmp_path / 'teacher.pth'
    state = save_as_teacher(build(Config.fromfile(TEACHER_CONFIG).model), path)
    return dict(config=TEACHER_CONFIG, checkpoint=str(path)), state


def student_cfg(teacher_cfg):
    cfg = Config.fromfile(DISTILLED_CONFIG).model
    cfg.teacher = teacher_cfg
    return cfg


def batch(n=2, size=128):
    instances, _ = ground_truth(n, size)
    samples = []
    for gt in instances:
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = gt
        samples.append(sample)
    return dict(
        inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(n)], data_samples=samples
    )


def test_the_distillation_config_builds_a_student_that_needs_no_teacher_until_training():
    model = build(Config.fromfile(DISTILLED_CONFIG).model)  # the teacher's work dir need not exist yet
    assert isinstance(model, DistilledSingleStageDetector) and isinstance(model.bbox_head, LDPicoHeadV2)
    assert model._teacher is None


def test_the_teacher_is_frozen_outside_the_student(teacher):
    teacher_cfg, teacher_state = teacher
    model = build(student_cfg(teacher_cfg))
    model.init_weights()  # as the runner does before training: builds and checks the teacher
    assert not any(k.startswith('teacher') or k.startswith('_teacher') for k in model.state_dict())
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert teacher_ids and not teacher_ids & {id(p) for p in model.parameters()}  # never in the optimizer
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    model.train()
    assert model.training and not model.teacher.training
    for _ in range(2):
        losses = model.train_step(batch(), optim)
        assert {'loss_cls', 'loss_bbox', 'loss_dfl', 'loss_ld'} <= set(losses)
        assert torch.isfinite(losses['loss']) and losses['loss_ld'] > 0
    for key, value in model.teacher.state_dict().items():  # weights and BN statistics as loaded
        assert torch.equal(value, teacher_state[key]), key
    assert all(p.grad is None for p in model.teacher.parameters())
    # the training-mode hook's layout reaches the teacher, which is no child module
    model.to(memory_format=torch.channels_last)
    stem = model.teacher.backbone.stem.conv.weight
    assert stem.is_contiguous(memory_format=torch.channels_last) and not stem.is_contiguous()


def test_the_students_checkpoint_loads_into_the_plain_student(teacher, tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint

    model = build(student_cfg(teacher[0]))
    model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    path = tmp_path / 'student.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    plain = build(Config.fromfile(STUDENT_CONFIG).model)
    load_checkpoint(plain, str(path), strict=True, logger='silent')
    model.eval()
    plain.eval()
    inputs = model.data_preprocessor(batch(), False)['inputs']
    with torch.no_grad():
        for ours, theirs in zip(*(m(inputs, mode='tensor') for m in (model, plain))):
            for a, b in zip(ours, theirs):
                assert torch.equal(a, b)


def test_mmdets_own_distillation_detector_drives_the_ld_head(teacher):
    """The head keeps mmdet's contract: its KnowledgeDistillationSingleStageDetector trains it unchanged."""
    cfg = copy.deepcopy(student_cfg(teacher[0]))
    teacher_cfg = cfg.pop('teacher')
    cfg.update(
        type='KnowledgeDistillationSingleStageDetector',
        teacher_config=Config.fromfile(teacher_cfg['config']),
        teacher_ckpt=teacher_cfg['checkpoint'],
    )
    model = build(cfg)
    losses = model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert torch.isfinite(losses['loss']) and losses['loss_ld'] > 0


def test_mmdets_ld_head_learns_from_a_gfl_teacher_in_our_detector(tmp_path):
    """The other way round: mmdet's LDHead (GFL) as the student's head, a GFL teacher."""
    gfl = str(ROOT / 'configs/gfl/gfl_pplcnet-x1.0_fpn_1x_coco.py')
    teacher = build(Config.fromfile(gfl).model)
    path = tmp_path / 'gfl.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    cfg = Config.fromfile(gfl).model
    cfg.update(type='DistilledSingleStageDetector', teacher=dict(config=gfl, checkpoint=str(path)))
    # mmdet's LD configs name the loss: LDHead's default ('LocalizationDistillationLoss') is not registered
    cfg.bbox_head.update(type='LDHead', loss_ld=dict(type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10))
    model = build(cfg)
    model.init_weights()
    losses = model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)))
    assert torch.isfinite(losses['loss']) and 'loss_ld' in losses


def test_refusals(teacher, tmp_path):
    teacher_cfg, _ = teacher

    def refused(match, **changes):
        cfg = Config(dict(model=student_cfg(teacher_cfg)))
        cfg.merge_from_dict({'model.' + key.replace('__', '.'): value for key, value in changes.items()})
        with pytest.raises(ValueError, match=match):
            build(cfg.model).init_weights()  # before the first iteration

    refused(
        r'teacher \(.*picodet_shapes.py, .*teacher.pth\) has num_classes 5, the student 3', bbox_head__num_classes=3
    )
    refused(r'has reg_max 7, the student 15', bbox_head__reg_max=15)
    refused(
        r'normalises images with mean \[123.675, 116.28, 103.53\], the student with \[0.0, 0.0, 0.0\]',
        data_preprocessor__mean=[0.0, 0.0, 0.0],
    )
    plain = student_cfg(teacher_cfg)
    plain.bbox_head.type = 'PicoHeadV2'
    plain.bbox_head.pop('loss_ld')
    with pytest.raises(ValueError, match='bbox_head PicoHeadV2 does not learn from a teacher: .*LDPicoHeadV2'):
        build(plain)
    with pytest.raises(ValueError, match=r'teacher must be dict\(config=..., checkpoint=...\)'):
        build(student_cfg(dict(checkpoint=teacher_cfg['checkpoint'])))
    with pytest.raises(FileNotFoundError, match="teacher checkpoint '.*missing.pth' does not exist"):
        build(student_cfg(dict(config=TEACHER_CONFIG, checkpoint=str(tmp_path / 'missing.pth')))).init_weights()
    with pytest.raises(CheckpointMismatchError, match='does not fit the model'):  # another model's: loaded strictly
        build(student_cfg(dict(config=STUDENT_CONFIG, checkpoint=teacher_cfg['checkpoint']))).init_weights()
