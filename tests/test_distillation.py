"""Teacher-student classification: the losses on hand-made logits, a frozen teacher, label-free training,
the student's checkpoint in the plain student config, and the refusals."""

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from conftest import save_as_teacher
from lcnet_mm.models import DistilledImageClassifier
from lcnet_mm.models.losses import DKDLoss, SoftTargetKLLoss

ROOT = Path(__file__).resolve().parents[1]
CLS_CONFIG = str(ROOT / 'configs/demos/lcnet_cls_shapes.py')


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def kl(p, q):
    return float((p * np.log(p / q)).sum(-1).mean())


# ---- losses on hand-made logits ---------------------------------------------------------------------
def test_soft_target_kl_by_hand():
    s, t = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), np.array([[3.0, 2.0, 1.0], [0.0, 1.0, 0.0]])
    expected = 4 * kl(softmax(t / 2), softmax(s / 2))  # T^2 * KL(teacher || student) at T = 2
    loss = SoftTargetKLLoss(temperature=2.0)(torch.tensor(s), torch.tensor(t))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert SoftTargetKLLoss()(torch.tensor(s), torch.tensor(s)).item() == pytest.approx(0.0, abs=1e-7)
    assert SoftTargetKLLoss(loss_weight=0.5)(torch.tensor(s), torch.tensor(t)).item() == pytest.approx(
        0.5 * kl(softmax(t), softmax(s)), rel=1e-6
    )


def dkd_by_hand(s, t, target, temperature, alpha, beta):
    p_s, p_t = softmax(s / temperature), softmax(t / temperature)
    rows = np.arange(len(s))
    b_s = np.stack([p_s[rows, target], 1 - p_s[rows, target]], 1)
    b_t = np.stack([p_t[rows, target], 1 - p_t[rows, target]], 1)
    mask = np.ones_like(s, bool)
    mask[rows, target] = False
    # the non-target distribution: the other classes' probabilities, renormalised
    n_s = p_s[mask].reshape(len(s), -1) / (1 - p_s[rows, target])[:, None]
    n_t = p_t[mask].reshape(len(s), -1) / (1 - p_t[rows, target])[:, None]
    return temperature**2 * (alpha * kl(b_t, b_s) + beta * kl(n_t, n_s))


def test_dkd_by_hand_with_labels_and_label_free():
    s = np.array([[1.0, 2.0, 3.0, 0.0], [0.5, 0.0, -1.0, 2.0]])
    t = np.array([[3.0, 2.0, 1.0, 0.5], [0.0, 1.0, 0.0, 4.0]])
    labels = np.array([0, 3])
    loss = DKDLoss(temperature=2.0, alpha=1.0, beta=2.0)(torch.tensor(s), torch.tensor(t), torch.tensor(labels))
    assert loss.item() == pytest.approx(dkd_by_hand(s, t, labels, 2.0, 1.0, 2.0), rel=1e-6)
    # no labels: the teacher's top class is the target (here [0, 3], the same)
    assert DKDLoss(temperature=2.0)(torch.tensor(s), torch.tensor(t)).item() == pytest.approx(loss.item(), rel=1e-6)
    other = DKDLoss(temperature=1.0, alpha=0.5, beta=8.0)(torch.tensor(s), torch.tensor(t), torch.tensor([2, 1]))
    assert other.item() == pytest.approx(dkd_by_hand(s, t, np.array([2, 1]), 1.0, 0.5, 8.0), rel=1e-6)


def test_loss_arguments_are_checked():
    with pytest.raises(ValueError, match='temperature must be > 0, got 0'):
        SoftTargetKLLoss(temperature=0)
    with pytest.raises(ValueError, match=r'student logits \(2, 3\) and teacher logits \(2, 4\)'):
        DKDLoss()(torch.zeros(2, 3), torch.zeros(2, 4))


# ---- the teacher-student classifier -----------------------------------------------------------------
@pytest.fixture
def teacher(tmp_path):
    """A trained-looking teacher: the shapes demo classifier (x0.5) with random weights and BN statistics."""
    cfg = Config.fromfile(CLS_CONFIG)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import MODELS

        model = MODELS.build(cfg.model)
    path = tmp_path / 'teacher.pth'
    return dict(config=CLS_CONFIG, checkpoint=str(path)), save_as_teacher(model, path)


def student_cfg(teacher_cfg, **changes):
    cfg = Config.fromfile(CLS_CONFIG).model
    cfg.backbone.scale = 0.25
    cfg.head.in_channels = 128
    cfg.head.dropout_ratio = 0.0
    cfg.update(type='DistilledImageClassifier', teacher=teacher_cfg, **changes)
    cfg.data_preprocessor = dict(  # the teacher's (CLS_CONFIG's): it sees the student's preprocessed batch
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    )
    return cfg


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import MODELS

        return MODELS.build(cfg)


def batch(n=4, labels=True):
    from mmpretrain.structures import DataSample

    samples = [DataSample().set_gt_label(i % 5) if labels else DataSample() for i in range(n)]
    return dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(n)], data_samples=samples)


def test_the_teacher_is_frozen_outside_the_student(teacher):
    teacher_cfg, teacher_state = teacher
    model = build(student_cfg(teacher_cfg, distill_loss=dict(type='DKDLoss', temperature=4.0)))
    assert isinstance(model, DistilledImageClassifier)
    model.init_weights()  # as the runner does before training: builds the teacher
    assert not any(k.startswith('teacher') for k in model.state_dict())
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert teacher_ids and not teacher_ids & {id(p) for p in model.parameters()}  # never in the optimizer
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    model.train()
    assert model.training and not model.teacher.training
    for _ in range(2):
        losses = model.train_step(batch(), optim)
        assert set(losses) == {'loss', 'loss_distill'} and torch.isfinite(losses['loss'])
    for key, value in model.teacher.state_dict().items():  # weights and BN statistics as loaded
        assert torch.equal(value, teacher_state[key]), key
    assert all(p.grad is None for p in model.teacher.parameters())


def test_label_free_training_on_a_folder_of_images(teacher, tmp_path):
    """SSLD's unlabeled data: mmpretrain's CustomDataset(with_label=False) over a folder of images."""
    folder = tmp_path / 'unlabeled'
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f'{i}.png'), np.random.default_rng(i).integers(0, 255, (64, 64, 3), np.uint8))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import DATASETS

        dataset = DATASETS.build(
            dict(
                type='CustomDataset',
                data_root=str(folder),
                with_label=False,
                pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')],
            )
        )
    data = pseudo_collate([dataset[i] for i in range(len(dataset))])
    assert all('gt_label' not in s for s in data['data_samples'])
    model = build(student_cfg(teacher[0]))
    losses = model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert torch.isfinite(losses['loss_distill'])
    hinton = build(student_cfg(teacher[0], label_loss_weight=0.5))
    with pytest.raises(ValueError, match='label_loss_weight=0.5 needs labels.*label_loss_weight=0'):
        hinton.train_step(data, OptimWrapper(torch.optim.SGD(hinton.parameters(), lr=0.1)))
    assert set(hinton.train_step(batch(), OptimWrapper(torch.optim.SGD(hinton.parameters(), lr=0.1)))) == {
        'loss',
        'loss_distill',
        'loss_label',
    }


def test_the_students_checkpoint_loads_into_the_plain_student(teacher, tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint

    cfg = student_cfg(teacher[0])
    model = build(cfg)
    model.train_step(batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    path = tmp_path / 'student.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    plain_cfg = copy.deepcopy(cfg)
    for key in ('teacher', 'distill_loss', 'label_loss_weight'):
        plain_cfg.pop(key, None)
    plain_cfg.type = 'ImageClassifier'
    plain = build(plain_cfg)
    load_checkpoint(plain, str(path), strict=True, logger='silent')
    model.eval()
    plain.eval()
    data = model.data_preprocessor(batch(labels=False), False)
    with torch.no_grad():
        assert torch.equal(model(data['inputs'], mode='tensor'), plain(data['inputs'], mode='tensor'))


def test_refusals(teacher, tmp_path):
    teacher_cfg, _ = teacher
    wrong = student_cfg(teacher_cfg)
    wrong.head.num_classes = 3
    with pytest.raises(ValueError, match=r'teacher .*predicts 5 classes, the student 3'):
        build(wrong).init_weights()  # before the first iteration
    with pytest.raises(ValueError, match=r'teacher must be dict\(config=..., checkpoint=...\)'):
        build(student_cfg(dict(config=CLS_CONFIG)))
    with pytest.raises(FileNotFoundError, match="teacher checkpoint '.*missing.pth' does not exist"):
        build(student_cfg(dict(config=CLS_CONFIG, checkpoint=str(tmp_path / 'missing.pth')))).init_weights()
    work_dir = tmp_path / 'run'  # a work dir stands for its best checkpoint
    work_dir.mkdir()
    Path(teacher_cfg['checkpoint']).rename(work_dir / 'best_accuracy_top1_epoch_5.pth')
    build(student_cfg(dict(config=CLS_CONFIG, checkpoint=str(work_dir)))).init_weights()
