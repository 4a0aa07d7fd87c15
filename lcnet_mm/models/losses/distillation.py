"""Losses between a student's and a teacher's class logits.

- :class:`SoftTargetKLLoss`: KL(teacher || student) of the temperature-softened distributions, times T^2
  (Hinton et al. 2015). With no label term it is SSLD's loss (PaddleClas: the student learns the
  teacher's soft labels only, so images without labels train too).
- :class:`DKDLoss`: decoupled KD (Zhao et al., CVPR 2022): a target-class term (binary: target vs the
  rest) and a non-target term (the distribution over the other classes), weighted ``alpha`` and ``beta``.
"""

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from lcnet_mm.registry import MODELS


def _check(student: torch.Tensor, teacher: torch.Tensor) -> None:
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(
            f'student logits {tuple(student.shape)} and teacher logits {tuple(teacher.shape)} must both be '
            '(batch, num_classes)'
        )


def _kl(p_teacher: torch.Tensor, log_p_student: torch.Tensor) -> torch.Tensor:
    """Sum over classes of p_t (log p_t - log p_s), averaged over the batch; 0 log 0 = 0."""
    return (torch.xlogy(p_teacher, p_teacher) - p_teacher * log_p_student).sum(1).mean()


@MODELS.register_module()
class SoftTargetKLLoss(nn.Module):
    """``loss_weight * T^2 * KL(softmax(t / T) || softmax(s / T))``, batch mean.

    Args:
        temperature (float): T > 0; larger spreads the teacher's probability over more classes.
        loss_weight (float): Weight of the loss.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'SoftTargetKLLoss temperature must be > 0, got {temperature!r}')
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, labels: Optional[torch.Tensor] = None):
        _check(student, teacher)
        t = self.temperature
        loss = _kl(F.softmax(teacher / t, dim=1), F.log_softmax(student / t, dim=1))
        return self.loss_weight * t * t * loss


@MODELS.register_module()
class DKDLoss(nn.Module):
    """Decoupled knowledge distillation: ``alpha * TCKD + beta * NCKD``, each times T^2, batch mean.

    TCKD is the KL between the teacher's and the student's binary distributions (target class, all other
    classes); NCKD the KL between their distributions over the non-target classes only. The target is the
    label where given, else the teacher's top class (label-free training).

    Args:
        temperature (float): T > 0.
        alpha (float): Weight of the target-class term.
        beta (float): Weight of the non-target term (PP-OCRv4: 2; the paper's ImageNet setting: 0.5-8).
        loss_weight (float): Weight of the whole loss.
    """

    def __init__(self, temperature: float = 1.0, alpha: float = 1.0, beta: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f'DKDLoss temperature must be > 0, got {temperature!r}')
        self.temperature, self.alpha, self.beta = float(temperature), float(alpha), float(beta)
        self.loss_weight = float(loss_weight)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, labels: Optional[torch.Tensor] = None):
        _check(student, teacher)
        if student.size(1) < 2:
            raise ValueError('DKDLoss needs at least two classes')
        target = teacher.argmax(1) if labels is None else labels.reshape(-1).long()
        t = self.temperature
        is_target = F.one_hot(target, student.size(1)).bool()
        p_s, p_t = F.softmax(student / t, dim=1), F.softmax(teacher / t, dim=1)
        binary_s = torch.stack([p_s[is_target], 1 - p_s[is_target]], dim=1).clamp_min(1e-12)
        binary_t = torch.stack([p_t[is_target], 1 - p_t[is_target]], dim=1)
        tckd = _kl(binary_t, binary_s.log())
        others = (~is_target).nonzero(as_tuple=True)
        rest_s = (student / t)[others].view(student.size(0), -1)
        rest_t = (teacher / t)[others].view(teacher.size(0), -1)
        nckd = _kl(F.softmax(rest_t, dim=1), F.log_softmax(rest_s, dim=1))
        return self.loss_weight * t * t * (self.alpha * tckd + self.beta * nckd)
