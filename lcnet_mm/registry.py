"""The registries of lcnet-mm and what goes into the toolboxes' registries.

- The ``lcnet_mm`` scope: ``MODELS``, ``DATASETS``, ``METRICS``, ``HOOKS``, ``LOOPS`` and ``OPTIM_WRAPPERS`` are
  children of MMEngine's root registries, so any OpenMMLab 2.x config can name a module by its scoped name
  (``lcnet_mm.PPLCNet``, the way ``mmpretrain.ConvNeXt`` is used from mmdet). Our modules register themselves there
  with the usual decorator; torch's ``nn.Hardsigmoid`` is added here. Nothing is registered into the root registries.
- :func:`register_in_toolbox`: our own modules also go by their bare names into the registries of the
  toolboxes that can use them, so that configs with ``default_scope='mmdet'``, ``'mmpretrain'`` or ``'mmseg'`` can
  write ``type='PPLCNet'``. A name a toolbox already uses for something else is an error, never replaced.
- :func:`register_when_toolboxes_load`: that registration happens when it is needed, not by importing every toolbox
  (seconds each): once a toolbox's ``registry`` module is imported, its registries get the module of
  :mod:`lcnet_mm.toolboxes` that registers our names as one more location to import on their first look-up, the
  way they import their own ``models`` or ``datasets`` package. Where the toolbox's models are already imported
  (or its registries already looked up), the registration happens at once.

The checkpoint schemes are the converters' own registration (:func:`lcnet_mm.converters.register_checkpoint_schemes`).
``lcnet_mm/__init__.py`` starts both. Importing lcnet_mm changes nothing else in mmengine, mmcv, mmdet, mmpretrain
or mmseg.
"""

import importlib
import sys

import torch.nn as nn
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry

# A look-up by scoped name (``lcnet_mm.PPLCNet``) imports the registration of every toolbox in use.
_EVERYTHING = ['lcnet_mm.toolboxes.in_use']
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='lcnet_mm', locations=_EVERYTHING)
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='lcnet_mm', locations=_EVERYTHING)
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='lcnet_mm', locations=_EVERYTHING)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='lcnet_mm', locations=_EVERYTHING)
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='lcnet_mm', locations=_EVERYTHING)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope='lcnet_mm', locations=_EVERYTHING)

# torch's fused hard-sigmoid, relu6(x + 3) / 6, for the SE gates: ``type='lcnet_mm.Hardsigmoid'``. mmcv
# registers only its own HSigmoid, which runs three ops instead of one and warns each time it is built.
MODELS.register_module(name='Hardsigmoid', module=nn.Hardsigmoid)

# What every run of every toolbox uses: the hooks, the time-budget loop and the optim wrapper.
RUN_MODULES = dict(
    HOOKS=('AtomicCheckpointHook', 'DataCheckHook', 'TrainingModeHook', 'TrainTimeHook', 'WeightsOnlyCheckpointHook'),
    LOOPS=('BudgetedEpochBasedTrainLoop', 'BudgetedIterBasedTrainLoop'),
    OPTIM_WRAPPERS=('CpuAmpOptimWrapper',),
)
# Toolbox -> registry -> which of our modules make sense there. The head is an mmpretrain ClsHead and
# the detection data set an mmdet CocoDataset, so each goes only where it can be used.
TOOLBOX_MODULES = {
    'mmdet': dict(
        MODELS=(
            'PPLCNet',
            'PPLCNetV2',
            'PPLCNetV3',
            'LCPAN',
            'RSEFPN',
            'DBHead',
            'DBLoss',
            'CSPPAN',
            'PicoHeadV2',
            'PicoHead',
            'LDPicoHeadV2',
            'LDPicoHead',
            'DistilledSingleStageDetector',
            'ProbabilityVarifocalLoss',
            'SSDHeadCompat',
        ),
        DATASETS=('SyntheticShapesCoco', 'SyntheticTextCoco'),
        METRICS=('TextDetMetric',),
        **RUN_MODULES,
    ),
    'mmpretrain': dict(
        MODELS=(
            'PPLCNet',
            'PPLCNetV2',
            'PPLCNetV3',
            'LCNetClsHead',
            'DistilledImageClassifier',
            'SoftTargetKLLoss',
            'DKDLoss',
        ),
        DATASETS=('SyntheticShapesClassification',),
        **RUN_MODULES,
    ),
    'mmseg': dict(
        MODELS=('PPLCNet', 'PPLCNetV2', 'PPLCNetV3'),
        DATASETS=('SyntheticShapesSegmentation',),
        **RUN_MODULES,
    ),
}
TOOLBOXES = tuple(TOOLBOX_MODULES)
_OUR_REGISTRIES = dict(
    MODELS=MODELS, DATASETS=DATASETS, METRICS=METRICS, HOOKS=HOOKS, LOOPS=LOOPS, OPTIM_WRAPPERS=OPTIM_WRAPPERS
)


def register_in_toolbox(toolbox: str) -> None:
    """Register our modules by their bare names in ``toolbox``'s registries (the module of
    :mod:`lcnet_mm.toolboxes` that imported them calls this). Idempotent."""
    toolbox_registry = importlib.import_module(f'{toolbox}.registry')
    for registry_name, names in TOOLBOX_MODULES[toolbox].items():
        theirs = getattr(toolbox_registry, registry_name)
        for name in names:
            ours = _OUR_REGISTRIES[registry_name].module_dict[name]
            if is_free(theirs.module_dict, name, ours, f'{toolbox}.registry.{registry_name}'):
                theirs.register_module(name=name, module=ours)


def register_when_toolboxes_load() -> None:
    """Register our modules in each toolbox once its ``registry`` module is imported (see the module's docstring)."""
    from .import_hooks import when_imported

    for toolbox in TOOLBOXES:
        when_imported(f'{toolbox}.registry', _register_lazily)


def _register_lazily(toolbox_registry) -> None:
    toolbox = toolbox_registry.__name__.partition('.')[0]
    ours = f'lcnet_mm.toolboxes.{toolbox}'
    registries = [getattr(toolbox_registry, name) for name in TOOLBOX_MODULES[toolbox]]
    # mmengine's Registry takes its locations as a constructor argument only; the list it keeps them in is where
    # one more goes. Anything unexpected there (another mmengine): register at once instead.
    lazy = all(isinstance(getattr(r, '_locations', None), list) and not r._imported for r in registries)
    if not lazy or _imported(f'{toolbox}.models'):
        importlib.import_module(ours)
        return
    for registry in registries:
        if ours not in registry._locations:
            registry._locations.append(ours)


def _imported(name: str) -> bool:
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, '__spec__', None), '_initializing', False)


def is_free(table: dict, name: str, ours, where: str) -> bool:
    """Whether ``name`` is still free in ``table``. Taken by ours (a second import): False. Taken by
    anything else: an error, since lcnet_mm never replaces another package's entry."""
    existing = table.get(name)
    if existing is not None and existing is not ours:
        raise KeyError(
            f'{where} already has a {name!r} ({existing.__module__}.{existing.__qualname__}); '
            f'lcnet_mm does not replace it (ours is reachable by the scoped name lcnet_mm.{name})'
        )
    return existing is None
