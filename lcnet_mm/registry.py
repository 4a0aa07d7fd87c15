"""The ``lcnet_mm`` registry scope.

``MODELS`` is a child of MMEngine's root model registry, so any OpenMMLab 2.x config can name a module
with the scoped name ``lcnet_mm.PPLCNet`` (the way ``mmpretrain.ConvNeXt`` is used from mmdet).
:func:`register_in_toolboxes` also puts the modules into mmdet's and mmpretrain's registries, so that
configs with ``default_scope='mmdet'`` or ``'mmpretrain'`` can use the bare names.
"""
import importlib

from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='lcnet_mm', locations=['lcnet_mm.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='lcnet_mm', locations=['lcnet_mm.datasets'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='lcnet_mm', locations=['lcnet_mm.engine'])

# Toolbox -> registry -> which of our modules make sense there. The head is an mmpretrain ClsHead and
# the detection data set an mmdet CocoDataset, so each goes only where it can be used.
_TOOLBOX_MODULES = {
    'mmdet': dict(
        MODELS=('PPLCNet', 'SSDHeadCompat'),
        DATASETS=('SyntheticShapesCoco', ),
        HOOKS=('TrainTimeHook', 'WeightsOnlyCheckpointHook')),
    'mmpretrain': dict(
        MODELS=('PPLCNet', 'LCNetClsHead'),
        DATASETS=('SyntheticShapesClassification', ),
        HOOKS=('TrainTimeHook', 'WeightsOnlyCheckpointHook')),
}
_OUR_REGISTRIES = dict(MODELS=MODELS, DATASETS=DATASETS, HOOKS=HOOKS)


def register_in_toolboxes():
    """Register our modules by their bare names in every installed toolbox that can use them."""
    for toolbox, registries in _TOOLBOX_MODULES.items():
        try:
            toolbox_registry = importlib.import_module(f'{toolbox}.registry')
        except ImportError:  # toolbox not installed: its configs cannot exist either
            continue
        for registry_name, names in registries.items():
            theirs, ours = getattr(toolbox_registry, registry_name), _OUR_REGISTRIES[registry_name]
            for name in names:
                module = ours.get(name)
                if module is not None and theirs.get(name) is not module:
                    theirs.register_module(name=name, module=module, force=True)
