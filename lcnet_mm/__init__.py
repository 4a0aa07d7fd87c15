"""lcnet-mm: PP-LCNet for the OpenMMLab 2.x toolboxes.

Importing the package is light (torch and mmengine's registries): it arranges that ``PPLCNet``, ``PPLCNetV2``,
``LCNetClsHead`` and the other modules are registered in the ``lcnet_mm`` registry scope and, by their bare names,
in mmdet's, mmpretrain's and mmseg's registries when those toolboxes are used (configs use
``custom_imports=dict(imports=['lcnet_mm'], allow_failed_imports=False)``), and that the checkpoint schemes of the
weight formats (``paddle://``, ``timm://``, ``hf://``: :mod:`lcnet_mm.converters`) are added to mmengine's
checkpoint loader when it is imported. It changes nothing else: see :mod:`lcnet_mm.registry`. The names below are
imported from their modules on first use.
"""

from .converters.schemes import register_checkpoint_schemes
from .import_hooks import lazy_exports
from .registry import register_when_toolboxes_load

__version__ = '0.1.0'

register_when_toolboxes_load()
register_checkpoint_schemes()

__getattr__, __dir__, _names = lazy_exports(
    __name__,
    {
        'datasets.synthetic_classification': ('SyntheticShapesClassification',),
        'datasets.synthetic_detection': ('SyntheticShapesCoco',),
        'datasets.synthetic_segmentation': ('SyntheticShapesSegmentation',),
        'engine.cpu_amp_optim_wrapper': ('CpuAmpOptimWrapper',),
        'engine.train_time_hook': ('TrainTimeHook',),
        'engine.training_mode_hook': ('TrainingModeHook',),
        'engine.weights_only_checkpoint_hook': ('WeightsOnlyCheckpointHook',),
        'models.backbones': ('PPLCNet', 'PPLCNetV2'),
        'models.heads': ('LCNetClsHead',),
    },
)
__all__ = [*_names, '__version__']
