"""lcnet-mm: PP-LCNet for the OpenMMLab 2.x toolboxes.

Importing the package registers ``PPLCNet`` and ``LCNetClsHead`` in the ``lcnet_mm`` registry scope and,
by their bare names, in mmdet's and mmpretrain's registries (configs use
``custom_imports=dict(imports=['lcnet_mm'], allow_failed_imports=False)``).
"""
from .datasets import SyntheticShapesClassification, SyntheticShapesCoco  # noqa: F401  (registers the data sets)
from .engine import TrainTimeHook, WeightsOnlyCheckpointHook  # noqa: F401  (registers the hooks)
from .models import LCNetClsHead, PPLCNet  # noqa: F401  (registers the modules)
from .registry import register_in_toolboxes

__version__ = '0.1.0'

register_in_toolboxes()

__all__ = ['PPLCNet', 'LCNetClsHead', 'SyntheticShapesCoco', 'SyntheticShapesClassification', '__version__']
