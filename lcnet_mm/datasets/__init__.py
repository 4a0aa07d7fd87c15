from .checks import (
    DataSetError,
    check_annotation_file,
    check_annotation_files,
    check_coco_annotations,
    check_dataset,
    check_image_file,
)
from .synthetic_classification import SyntheticShapesClassification
from .synthetic_detection import SyntheticShapesCoco
from .synthetic_segmentation import SyntheticShapesSegmentation

__all__ = [
    'DataSetError',
    'check_annotation_file',
    'check_annotation_files',
    'check_coco_annotations',
    'check_dataset',
    'check_image_file',
    'SyntheticShapesCoco',
    'SyntheticShapesClassification',
    'SyntheticShapesSegmentation',
]
