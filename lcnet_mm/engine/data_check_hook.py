from mmengine.hooks import Hook
from mmengine.runner import BaseLoop

from lcnet_mm.datasets import DataSetError, check_dataset
from lcnet_mm.registry import HOOKS

SKIP_OPTION = 'default_hooks.data_check.skip_invalid_boxes=True'


@HOOKS.register_module()
class DataCheckHook(Hook):
    """Check the run's data sets on disk before the first iteration (:mod:`lcnet_mm.datasets.checks`).

    Stops the run with one error listing every problem with its file and sample index: missing, empty,
    truncated or non-image files, class labels out of range, label-map values that are neither classes nor
    the ignore index, and COCO boxes that are empty, negative, NaN or outside their image or name unknown
    category or image ids. It reads the first and last bytes of every image (not the pixels) and decodes
    every label map, once per run.

    Args:
        images (bool): Check the image files. Default True.
        label_maps (bool): Check segmentation label maps (decodes each). Default True.
        skip_invalid_boxes (bool): Instead of stopping, log the count and the first of the COCO annotation
            problems and train without those boxes (mmdet's data sets leave them out). Default False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, images: bool = True, label_maps: bool = True, skip_invalid_boxes: bool = False):
        self.images, self.label_maps, self.skip_invalid_boxes = images, label_maps, skip_invalid_boxes

    def before_run(self, runner) -> None:
        checked = set()
        for phase in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{phase}_loop', None)
            dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
            if not isinstance(loop, BaseLoop) or dataset is None or id(dataset) in checked:
                continue
            checked.add(id(dataset))
            annotations, samples = check_dataset(dataset, self.images, self.label_maps)
            if annotations and self.skip_invalid_boxes:
                runner.logger.warning(
                    f'DataCheckHook: {len(annotations)} annotation(s) of the {phase} set skipped '
                    f'(skip_invalid_boxes=True), e.g. {annotations[:3]}'
                )
                annotations = []
            if annotations or samples:
                hint = 'Fix or remove them.'
                if annotations:
                    hint += f' To train without the bad boxes instead: --cfg-options {SKIP_OPTION}'
                raise DataSetError(f'the {phase} set ({type(dataset).__name__})', annotations + samples, hint)
