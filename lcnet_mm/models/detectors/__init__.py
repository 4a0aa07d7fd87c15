from .distilled_detector import DistilledSingleStageDetector

__all__ = ['DistilledSingleStageDetector']
