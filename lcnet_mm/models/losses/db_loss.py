"""The DB loss (Liao et al., 2020), with PaddleOCR's ``DBLoss`` weights: balanced binary cross-entropy on the
probability (shrink) map with hard negatives mined 3:1, masked L1 on the threshold map, dice on the binary map."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from lcnet_mm.registry import MODELS

EPS = 1e-6


def balanced_bce(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, negative_ratio: float = 3.0):
    """BCE over every positive pixel and the ``negative_ratio`` times as many hardest negatives."""
    positive = target * mask
    negative = (1 - target) * mask
    num_positive = int(positive.sum())
    num_negative = min(int(negative.sum()), int(num_positive * negative_ratio))
    loss = F.binary_cross_entropy(prediction.clamp(EPS, 1 - EPS), target, reduction='none')
    negative_loss = (loss * negative).flatten()
    hardest = negative_loss.topk(num_negative).values if num_negative > 0 else negative_loss[:0]
    return ((loss * positive).sum() + hardest.sum()) / (num_positive + num_negative + EPS)


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((prediction - target).abs() * mask).sum() / (mask.sum() + EPS)


def dice_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    intersection = (prediction * target * mask).sum()
    union = (prediction * mask).sum() + (target * mask).sum() + EPS
    return 1 - 2 * intersection / union


@MODELS.register_module()
class DBLoss(nn.Module):
    """``alpha * balanced_bce(probability) + beta * masked_l1(threshold) + dice(binary)``; returns the three terms.

    Args:
        alpha, beta (float): Weights of the probability and threshold terms (PaddleOCR: 5 and 10).
        negative_ratio (float): Hard negatives per positive pixel in the probability term (3).
    """

    def __init__(self, alpha: float = 5.0, beta: float = 10.0, negative_ratio: float = 3.0):
        super().__init__()
        self.alpha, self.beta, self.negative_ratio = alpha, beta, negative_ratio

    def forward(self, maps, shrink_map, shrink_mask, threshold_map, threshold_mask) -> dict:
        """``maps``: the head's training ``(probability, threshold, binary)``, (N, 1, H, W); targets (N, H, W)."""
        probability, threshold, binary = (m[:, 0] for m in maps)
        return dict(
            loss_probability=self.alpha * balanced_bce(probability, shrink_map, shrink_mask, self.negative_ratio),
            loss_threshold=self.beta * masked_l1(threshold, threshold_map, threshold_mask),
            loss_binary=dice_loss(binary, shrink_map, shrink_mask),
        )
