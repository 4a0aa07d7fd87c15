"""A student classifier trained against a frozen teacher: PaddleClas's SSLD, Hinton KD and DKD in mmpretrain.

The student is an mmpretrain ``ImageClassifier`` (any backbone, neck, head); its checkpoints hold only its
own tensors, so they load into the plain student config for testing, export, INT8 and benchmarking. The
teacher is another classifier config with its checkpoint: built before the first iteration (in
``init_weights``), frozen, always in eval mode, kept outside the module tree (not in the state dict, the
optimizer, DDP or ``model.train()``).
"""

from typing import Optional

import torch
from mmpretrain.models import ImageClassifier

from lcnet_mm.registry import MODELS
from ..frozen_teacher import FrozenTeacherMixin


@MODELS.register_module()
class DistilledImageClassifier(FrozenTeacherMixin, ImageClassifier):
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

    teacher_scope = 'mmpretrain'

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
        self.set_teacher(teacher)
        if label_loss_weight < 0:
            raise ValueError(f'label_loss_weight must be >= 0, got {label_loss_weight!r}')
        self.distill_loss = MODELS.build(distill_loss or dict(type='SoftTargetKLLoss'))
        self.label_loss_weight = float(label_loss_weight)

    def check_teacher(self, teacher: ImageClassifier) -> None:
        ours, theirs = getattr(self.head, 'num_classes', None), getattr(teacher.head, 'num_classes', None)
        if ours != theirs:
            raise ValueError(
                f'{self.teacher_named()} predicts {theirs} classes, the student {ours}: distillation matches '
                'class by class; use a teacher trained on the same classes'
            )
        self.check_normalisation(teacher)

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        feats = self.extract_feat(inputs)
        logits = self.head(feats)
        teacher = self.teacher_on(inputs.device)
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
