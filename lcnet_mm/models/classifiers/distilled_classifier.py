"""A student classifier trained against a frozen teacher: PaddleClas's SSLD, Hinton KD and DKD in mmpretrain.

The student is an mmpretrain ``ImageClassifier`` (any backbone, neck, head); its checkpoints hold only its
own tensors, so they load into the plain student config for testing, export, INT8 and benchmarking. The
teacher is another classifier config with its checkpoint: built before the first iteration (in
``init_weights``), frozen, always in eval mode, kept outside the module tree (not in the state dict, the
optimizer, DDP or ``model.train()``).
"""

import glob
import os
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import find_latest_checkpoint
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.models import ImageClassifier

from lcnet_mm.registry import MODELS


def resolve_checkpoint(path: str) -> str:
    """A checkpoint file, a scheme path (``paddle://``, ``hf://``, ...), or a work dir: its one best
    checkpoint, else the one ``last_checkpoint`` names."""
    if '://' in path or os.path.isfile(path):
        return path
    if os.path.isdir(path):
        best = sorted(glob.glob(os.path.join(path, 'best_*.pth')))
        if len(best) == 1:
            return best[0]
        latest = find_latest_checkpoint(path)  # what last_checkpoint names
        if latest:
            return latest
        raise FileNotFoundError(
            f'teacher checkpoint: {path} is a folder with no best_*.pth (or several) and no last_checkpoint'
        )
    raise FileNotFoundError(f'teacher checkpoint {path!r} does not exist')


def build_teacher(config: str, checkpoint: str) -> ImageClassifier:
    """The teacher classifier of ``config`` (a config file) with the weights of ``checkpoint``, frozen."""
    if '::' not in config and not os.path.isfile(config):  # 'mmpretrain::...' names a toolbox's own config
        raise FileNotFoundError(f'teacher config {config!r} does not exist')
    model_cfg = Config.fromfile(config).model
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS

        teacher = MMPRETRAIN_MODELS.build(model_cfg)
    load_checkpoint(teacher, resolve_checkpoint(checkpoint), map_location='cpu', strict=True, logger='silent')
    teacher.requires_grad_(False)
    return teacher.eval()


@MODELS.register_module()
class DistilledImageClassifier(ImageClassifier):
    """An ``ImageClassifier`` (the student) that learns from a frozen teacher's logits.

    Args:
        backbone, neck, head, pretrained, train_cfg, data_preprocessor, init_cfg: the student, as for
            mmpretrain's ``ImageClassifier``.
        teacher (dict): ``dict(config=..., checkpoint=...)``: the teacher's config file and its weights (a
            file, a ``paddle://`` / ``timm://`` / ``hf://`` path, or a work dir: its best checkpoint). The
            teacher sees the student's preprocessed images: train it with the same mean and std.
        distill_loss (dict): A loss of (student logits, teacher logits, labels or None):
            ``SoftTargetKLLoss`` (SSLD, Hinton KD) or ``DKDLoss``.
        label_loss_weight (float): Weight of the head's own loss on the labels, added to the distillation
            loss. 0 (SSLD): no labels needed, so unlabeled images (``CustomDataset(with_label=False)``)
            train too; Hinton KD mixes both, e.g. 0.5 / ``loss_weight=0.5``.
    """

    def __init__(
        self,
        backbone: dict,
        teacher: dict,
        distill_loss: Optional[dict] = None,
        label_loss_weight: float = 0.0,
        neck: Optional[dict] = None,
        head: Optional[dict] = None,
        **kwargs,
    ):
        super().__init__(backbone, neck=neck, head=head, **kwargs)
        if not isinstance(teacher, dict) or set(teacher) != {'config', 'checkpoint'}:
            raise ValueError(f'teacher must be dict(config=..., checkpoint=...), got {teacher!r}')
        if label_loss_weight < 0:
            raise ValueError(f'label_loss_weight must be >= 0, got {label_loss_weight!r}')
        self.distill_loss = MODELS.build(distill_loss or dict(type='SoftTargetKLLoss'))
        self.label_loss_weight = float(label_loss_weight)
        self.teacher_cfg = dict(teacher)
        object.__setattr__(self, '_teacher', None)  # a plain attribute: outside the module tree

    @property
    def teacher(self) -> ImageClassifier:
        """The frozen teacher, built on first use (the runner's ``init_weights`` before training): testing,
        exporting or counting the student needs no teacher."""
        if self._teacher is None:
            frozen = build_teacher(self.teacher_cfg['config'], self.teacher_cfg['checkpoint'])
            ours, theirs = getattr(self.head, 'num_classes', None), getattr(frozen.head, 'num_classes', None)
            if ours != theirs:
                raise ValueError(
                    f'the teacher ({self.teacher_cfg["config"]}, {self.teacher_cfg["checkpoint"]}) predicts {theirs} '
                    f'classes, the student {ours}: distillation matches class by class; use a teacher trained on '
                    'the same classes'
                )
            object.__setattr__(self, '_teacher', frozen)
        return self._teacher

    def init_weights(self) -> None:
        super().init_weights()
        self.teacher.eval()  # built and checked before the first iteration

    def train(self, mode: bool = True):
        super().train(mode)
        if self._teacher is not None:
            self._teacher.eval()  # its BN statistics and dropout stay those of its checkpoint
        return self

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        feats = self.extract_feat(inputs)
        logits = self.head(feats)
        teacher = self.teacher
        if next(teacher.parameters()).device != inputs.device:
            teacher.to(inputs.device)
        with torch.no_grad():
            teacher_logits = teacher(inputs, mode='tensor')
        has_labels = all('gt_label' in sample for sample in data_samples)
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device) if has_labels else None
        losses = dict(loss_distill=self.distill_loss(logits, teacher_logits.to(logits.dtype), labels))
        if self.label_loss_weight:
            if not has_labels and not all('gt_score' in s for s in data_samples):
                raise ValueError(
                    f'label_loss_weight={self.label_loss_weight} needs labels, and this batch has images without '
                    'one; train label-free with label_loss_weight=0'
                )
            # the head's own loss on the logits above (ClsHead.loss would run the head, and its dropout, again)
            losses['loss_label'] = self.label_loss_weight * self.head._get_loss(logits, data_samples)['loss']
        return losses
