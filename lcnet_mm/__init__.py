"""lcnet-mm: PP-LCNet for the OpenMMLab 2.x toolboxes.

Importing the package registers ``PPLCNet``, ``PPLCNetV2``, ``LCNetClsHead`` and the other modules in the ``lcnet_mm``
registry scope and, by their bare names, in mmdet's, mmpretrain's and mmseg's registries (configs use
``custom_imports=dict(imports=['lcnet_mm'], allow_failed_imports=False)``), and adds the checkpoint schemes of the
weight formats (``paddle://``, ``timm://``, ``hf://``: :mod:`lcnet_mm.converters`). It changes nothing else: see
:mod:`lcnet_mm.registry`.
"""

from .converters import register_checkpoint_schemes
from .datasets import SyntheticShapesClassification, SyntheticShapesCoco, SyntheticShapesSegmentation
from .engine import CpuAmpOptimWrapper, TrainingModeHook, TrainTimeHook, WeightsOnlyCheckpointHook
from .models import LCNetClsHead, PPLCNet, PPLCNetV2
from .registry import register_in_toolboxes

__version__ = '0.1.0'

register_in_toolboxes()
register_checkpoint_schemes()

__all__ = [
    'PPLCNet',
    'PPLCNetV2',
    'LCNetClsHead',
    'SyntheticShapesCoco',
    'SyntheticShapesClassification',
    'SyntheticShapesSegmentation',
    'TrainingModeHook',
    'CpuAmpOptimWrapper',
    'TrainTimeHook',
    'WeightsOnlyCheckpointHook',
    '__version__',
]
