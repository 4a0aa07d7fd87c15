"""Structured pruning of a model's PP-LCNet backbone with Torch-Pruning (DepGraph), and the config that describes
what it leaves.

Torch-Pruning traces which channels go together (a block's pointwise output, the next depthwise conv, an SE's
input and output, a neck's input convs, a shortcut's two ends) and removes whole groups in place. What is kept:
the stem (its 3 input channels make it cheap and every feature depends on it) and every layer after the backbone
except where it takes the backbone's channels as input (a neck's input convs, a classifier head's wide conv); so
a detector's neck widths, head widths and outputs stay, and a classifier's classes. The pruned model is then a
config change (:func:`pruned_config_changes`: the backbone's ``widths``, the next module's ``in_channels``) plus
its state dict, which :func:`check_rebuilds` loads strictly into the model that config builds.
"""

from dataclasses import dataclass
from typing import Dict, List

import torch
import torch.nn as nn

from lcnet_mm.models import PPLCNet, PPLCNetV2, stage_out_channels, widths_of
from lcnet_mm.utils import ConfigError
from .raw_outputs import model_kind

PRUNABLE_BACKBONES = (PPLCNet, PPLCNetV2)


def _importance(name: str):
    import torch_pruning as tp

    return {
        'l1': lambda: tp.importance.GroupMagnitudeImportance(p=1),
        'l2': lambda: tp.importance.GroupMagnitudeImportance(p=2),
        'fpgm': tp.importance.FPGMImportance,
    }[name]()


# Group importances of Torch-Pruning: L1/L2 magnitude of a group's weights (PaddleSlim's L1-norm filter pruning),
# FPGM (distance to the geometric median: filters the others can stand in for).
IMPORTANCES = ('l1', 'l2', 'fpgm')
ALLOCATIONS = ('uniform', 'global')


@dataclass(frozen=True)
class PruneSettings:
    """``ratio``: the share of each prunable group's channels removed (uniform), or of all of them together, the
    least important first wherever they are (global). ``round_to``: every pruned width a multiple of it."""

    ratio: float
    importance: str = 'l1'
    allocation: str = 'uniform'
    round_to: int = 8

    def __post_init__(self):
        if not (isinstance(self.ratio, (int, float)) and 0 < self.ratio < 1):
            raise ValueError(f'the pruning ratio must be a number in (0, 1), got {self.ratio!r}')
        if self.importance not in IMPORTANCES:
            raise ValueError(f'importance must be one of {IMPORTANCES}, got {self.importance!r}')
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f'allocation must be one of {ALLOCATIONS}, got {self.allocation!r}')
        if not (isinstance(self.round_to, int) and self.round_to >= 1):
            raise ValueError(f'round_to must be an int >= 1, got {self.round_to!r}')


def prunable_backbone(model: nn.Module) -> nn.Module:
    """The model's backbone, if it is one this project can describe pruned; otherwise a ConfigError naming it."""
    kind = model_kind(model)
    backbone = getattr(model, 'backbone', None)
    if kind not in ('classifier', 'detector', 'segmentor') or not isinstance(backbone, PRUNABLE_BACKBONES):
        found = type(backbone).__name__ if backbone is not None else f'a {type(model).__name__} without a backbone'
        raise ConfigError(
            f'pruning needs a classifier, detector or segmentor whose backbone is PPLCNet or PPLCNetV2 (their widths '
            f'describe the pruned network in a config); this model has {found}'
        )
    if kind == 'segmentor':
        raise ConfigError(
            'pruning a segmentor is not supported yet: its decode heads take backbone stages by in_index and '
            'c1_in_channels, which the pruned config does not describe yet'
        )
    if kind == 'detector' and getattr(model, 'neck', None) is None:
        raise ConfigError(f'{type(model).__name__} has no neck: which layer takes the pruned backbone is unknown')
    return backbone


def _kept_layers(model: nn.Module, backbone: nn.Module) -> List[nn.Module]:
    """Layers whose output channels stay: the stem, and every module that is not the backbone (a layer that only
    takes the backbone's channels as input loses inputs with them, not outputs)."""
    kept = [backbone.stem]
    for name, child in model.named_children():
        if child is not backbone and name != 'data_preprocessor':
            kept.append(child)
    return kept


def prune_model(model: nn.Module, images: torch.Tensor, settings: PruneSettings) -> None:
    """Prune ``model``'s backbone in place (eval mode, traced on ``images``)."""
    import torch_pruning as tp

    backbone = prunable_backbone(model)
    model.eval()
    pruner = tp.pruner.MetaPruner(
        model,
        images,
        importance=_importance(settings.importance),
        pruning_ratio=settings.ratio,
        global_pruning=settings.allocation == 'global',
        ignored_layers=_kept_layers(model, backbone),
        round_to=settings.round_to,
        forward_fn=lambda network, batch: network(batch, mode='tensor'),
    )
    pruner.step()


def pruned_config_changes(model: nn.Module) -> Dict:
    """The ``model`` settings of a config that builds the pruned ``model``: the backbone's widths and what the module
    after the backbone takes as input channels."""
    backbone = prunable_backbone(model)
    widths = widths_of(backbone)
    outs = stage_out_channels(widths)
    taken = [outs[i] for i in backbone.out_indices]
    changes = dict(backbone=dict(widths=widths))
    kind = model_kind(model)
    if kind == 'classifier':
        changes['head'] = dict(in_channels=taken[-1])
    else:
        changes['neck'] = dict(in_channels=taken)
    return changes


def check_rebuilds(pruned: nn.Module, rebuilt: nn.Module) -> None:
    """``pruned``'s state dict loads strictly into ``rebuilt`` (the model its config builds); else a ValueError."""
    try:
        rebuilt.load_state_dict(pruned.state_dict(), strict=True)
    except RuntimeError as error:
        raise ValueError(f'the pruned model does not rebuild from its config: {error}') from None
