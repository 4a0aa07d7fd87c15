from .synthetic_classification import SyntheticShapesClassification
from .synthetic_detection import SyntheticShapesCoco
from .synthetic_segmentation import SyntheticShapesSegmentation

__all__ = ['SyntheticShapesCoco', 'SyntheticShapesClassification', 'SyntheticShapesSegmentation']
