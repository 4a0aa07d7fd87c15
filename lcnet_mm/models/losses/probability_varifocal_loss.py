import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss

from lcnet_mm.registry import MODELS


@MODELS.register_module()
class ProbabilityVarifocalLoss(nn.Module):
    """Varifocal loss (Zhang et al., 2021) on scores that are already probabilities.

    PicoDet v2's classification score is ``sqrt(sigmoid(cls) * sigmoid(align))``, a probability with no logit
    behind it; mmdet's ``VarifocalLoss`` asserts ``use_sigmoid=True`` and applies the sigmoid itself, so it
    cannot take such scores. The loss is the same otherwise: binary cross-entropy against the soft target
    (the IoU or alignment score of a positive, 0 elsewhere), positives weighted by their target,
    negatives by ``alpha * |p - t| ** gamma``.

    Args:
        use_sigmoid (bool): Must be True: a per-class sigmoid-type score (which sizes mmdet heads' class
            outputs as ``num_classes``), applied before this loss.
        alpha (float), gamma (float): Weight of the negatives, as in the paper.
        iou_weighted (bool): Weight positives by their target (True) or by 1.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): Factor of the loss.
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        alpha: float = 0.75,
        gamma: float = 2.0,
        iou_weighted: bool = True,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
    ):
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError('ProbabilityVarifocalLoss scores sigmoid-type probabilities: use_sigmoid must be True')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"ProbabilityVarifocalLoss reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.use_sigmoid = use_sigmoid
        self.alpha = alpha
        self.gamma = gamma
        self.iou_weighted = iou_weighted
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'scores {tuple(pred.shape)} and targets {tuple(target.shape)} must have one shape')
        reduction = reduction_override or self.reduction
        # float32: under autocast the scores may arrive in BF16, too coarse for log(p) near 0 and 1
        pred, target = pred.float(), target.float()
        positive = (target > 0).float()
        positive_weight = target if self.iou_weighted else torch.ones_like(target)
        focal_weight = positive * positive_weight + (1 - positive) * self.alpha * (pred - target).abs().pow(self.gamma)
        loss = F.binary_cross_entropy(pred, target, reduction='none') * focal_weight
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
