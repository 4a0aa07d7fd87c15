from .distillation import DKDLoss, SoftTargetKLLoss
from .probability_varifocal_loss import ProbabilityVarifocalLoss

__all__ = ['DKDLoss', 'ProbabilityVarifocalLoss', 'SoftTargetKLLoss']
