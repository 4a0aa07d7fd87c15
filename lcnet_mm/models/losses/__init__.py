from .probability_varifocal_loss import ProbabilityVarifocalLoss

__all__ = ['ProbabilityVarifocalLoss']
