from .distilled_classifier import DistilledImageClassifier

__all__ = ['DistilledImageClassifier']
