"""Data sets: the synthetic ones lcnet-mm generates (one per toolbox) and the checks of a data set on disk.
Names are imported from their modules on first use (each synthetic set imports its toolbox)."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'checks': (
            'DataSetError',
            'check_annotation_file',
            'check_annotation_files',
            'check_coco_annotations',
            'check_data_paths',
            'check_dataset',
            'check_image_file',
        ),
        'synthetic_classification': ('SyntheticShapesClassification',),
        'synthetic_detection': ('SyntheticShapesCoco',),
        'synthetic_segmentation': ('SyntheticShapesSegmentation',),
        'synthetic_text': ('SyntheticTextCoco',),
    },
)
