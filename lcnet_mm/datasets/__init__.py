from .synthetic_classification import SyntheticShapesClassification
from .synthetic_detection import SyntheticShapesCoco

__all__ = ['SyntheticShapesCoco', 'SyntheticShapesClassification']
