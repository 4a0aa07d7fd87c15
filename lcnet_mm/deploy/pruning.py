"""Structured pruning of a model's PP-LCNet backbone with Torch-Pruning (DepGraph), and the config that describes
what it leaves.

Torch-Pruning traces which channels go together (a block's pointwise output, the next depthwise conv, an SE's
input and output, a neck's input convs, a shortcut's two ends) and removes whole groups in place. What is kept:
the stem (its 3 input channels make it cheap and every feature depends on it) and every layer after the backbone
except where it takes the backbone's channels as input (a neck's input convs, a decode head's input convs); so a
detector's neck widths, head widths and outputs stay, and a segmentor's heads. A classifier's ``LCNetClsHead``
is pruned too, all but its classifier: the wide 1x1 conv after pooling is 1280 channels at every width. The pruned
model is then a config change (:func:`pruned_config_changes`: the backbone's ``widths``, what the next modules
take) plus its state dict, which :func:`check_rebuilds` loads strictly into the model that config builds.

A target (MACs, latency) instead of a ratio is :func:`search_ratio`: the least ratio that meets it.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

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
    least important first wherever they are (global); None until a target's search sets it. ``round_to``: every
    pruned width a multiple of it."""

    ratio: Optional[float] = None
    importance: str = 'l1'
    allocation: str = 'uniform'
    round_to: int = 8

    def __post_init__(self):
        if self.ratio is not None and not (isinstance(self.ratio, (int, float)) and 0 < self.ratio < 1):
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
    auxiliary = getattr(model, 'auxiliary_head', None)
    if kind == 'segmentor' and isinstance(auxiliary, nn.ModuleList):  # a written list replaces, not merges
        raise ConfigError(
            f'auxiliary_head is a list of {len(auxiliary)} heads: the pruned config describes one auxiliary head'
        )
    if kind == 'detector' and getattr(model, 'neck', None) is None:
        raise ConfigError(f'{type(model).__name__} has no neck: which layer takes the pruned backbone is unknown')
    return backbone


def _lcnet_head(model: nn.Module) -> Optional[nn.Module]:
    """A classifier's ``LCNetClsHead`` with its wide conv: the one head whose width is pruned too."""
    from lcnet_mm.models import LCNetClsHead

    head = getattr(model, 'head', None)
    return head if isinstance(head, LCNetClsHead) and head.head_conv is not None else None


def _kept_layers(model: nn.Module, backbone: nn.Module) -> List[nn.Module]:
    """Layers whose output channels stay: the stem, and every module that is not the backbone (a layer that only
    takes the backbone's channels as input loses inputs with them, not outputs), but of an LCNetClsHead only its
    classifier."""
    kept = [backbone.stem]
    lcnet_head = _lcnet_head(model)
    for name, child in model.named_children():
        if child is not backbone and name != 'data_preprocessor':
            kept.append(lcnet_head.fc if child is lcnet_head else child)
    return kept


def _traced_forward(model: nn.Module, images: torch.Tensor):
    """The forward Torch-Pruning traces: the model's tensor mode, and a segmentor's auxiliary heads too (used in
    training only, they take backbone stages, whose pruning they must follow)."""
    auxiliary = getattr(model, 'auxiliary_head', None)
    if model_kind(model) != 'segmentor' or auxiliary is None:
        return model(images, mode='tensor')
    features = model.extract_feat(images)
    heads = list(auxiliary) if isinstance(auxiliary, nn.ModuleList) else [auxiliary]
    return [model.decode_head(features), *(head(features) for head in heads)]


def kept_layer_names(model: nn.Module) -> List[str]:
    """The names of the layers whose widths pruning keeps (what the tool reports)."""
    kept = {id(module) for module in _kept_layers(model, prunable_backbone(model))}
    return [name for name, module in model.named_modules() if id(module) in kept]


def prune_model(model: nn.Module, images: torch.Tensor, settings: PruneSettings) -> None:
    """Prune ``model``'s backbone in place (eval mode, traced on ``images``)."""
    import torch_pruning as tp

    if settings.ratio is None:
        raise ValueError('prune_model needs a ratio: give one, or search it for a target (search_ratio)')
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
        forward_fn=_traced_forward,
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
        if _lcnet_head(model) is not None:
            changes['head']['head_channels'] = model.head.head_conv.conv.out_channels
    elif kind == 'detector':
        changes['neck'] = dict(in_channels=taken)
    else:
        for name in ('decode_head', 'auxiliary_head'):
            head = getattr(model, name, None)
            if head is not None:
                changes[name] = _decode_head_inputs(head, taken)
    return changes


def _decode_head_inputs(head: nn.Module, taken: List[int]) -> Dict:
    """An mmseg decode head's input channels: the stages its ``in_index`` selects, and DeepLabV3+'s low-level
    branch (``c1_in_channels``), which takes the first feature the backbone gives."""
    index = head.in_index
    changes = dict(in_channels=[taken[i] for i in index] if isinstance(index, (list, tuple)) else taken[index])
    if getattr(head, 'c1_bottleneck', None) is not None:
        changes['c1_in_channels'] = taken[0]
    return changes


def step_ratios(ratio: float, steps: int) -> List[float]:
    """Iterative pruning: each step's share of the channels the step before left, so that the ``steps`` together
    remove ``ratio`` of the original's, an equal share of them each."""
    left = [1 - ratio * step / steps for step in range(steps + 1)]
    return [1 - left[step + 1] / left[step] for step in range(steps)]


def search_ratio(
    score: Callable[[float], float], target: float, what: str, highest: float = 0.9, steps: int = 7
) -> Tuple[float, float]:
    """The least pruning ratio whose pruned model's ``score`` (MACs, latency: falls as the ratio grows) is at most
    ``target``, by bisection over (0, ``highest``]; returns it with its score. ``what``: the target as the user gave
    it, for the errors. A target the original already meets,
    or one that even ``highest`` misses, is a ConfigError naming both figures."""
    unpruned = score(0.0)
    if unpruned <= target:
        raise ConfigError(f'{what}: the unpruned model is already at {unpruned:.4g}; nothing to prune')
    best = (highest, score(highest))
    if best[1] > target:
        raise ConfigError(
            f'{what} is out of reach: pruning {highest:.0%} of the channels leaves {best[1]:.4g} '
            f'(the unpruned model: {unpruned:.4g})'
        )
    low, high = 0.0, highest
    for _ in range(steps):
        middle = (low + high) / 2
        value = score(middle)
        if value <= target:
            high, best = middle, (middle, value)
        else:
            low = middle
    return best


def check_rebuilds(pruned: nn.Module, rebuilt: nn.Module) -> None:
    """``pruned``'s state dict loads strictly into ``rebuilt`` (the model its config builds); else a ValueError."""
    try:
        rebuilt.load_state_dict(pruned.state_dict(), strict=True)
    except RuntimeError as error:
        raise ValueError(f'the pruned model does not rebuild from its config: {error}') from None


# Distillation of a pruned detector from the unpruned one: each head that has a localization-distillation form.
LD_HEADS = {'PicoHeadV2': 'LDPicoHeadV2', 'PicoHead': 'LDPicoHead', 'GFLHead': 'LDHead'}


def distillation_changes(model: nn.Module, teacher_config: str, teacher_checkpoint: str) -> Dict:
    """The ``model`` settings that make the pruned ``model``'s config learn from the unpruned model (its config and
    checkpoint): a classifier from its logits (KL, with the label loss, as SSLD's fine-tuning), a PicoDet or GFL
    detector from its box distributions (LD). Another model is a ConfigError naming what distils."""
    teacher = dict(config=teacher_config, checkpoint=teacher_checkpoint)
    if type(model).__name__ == 'ImageClassifier':
        return dict(
            type='DistilledImageClassifier',
            teacher=teacher,
            distill_loss=dict(type='SoftTargetKLLoss', temperature=1.0),
            label_loss_weight=1.0,
        )
    head = type(getattr(model, 'bbox_head', None)).__name__
    if type(model).__name__ in ('SingleStageDetector', 'GFL') and head in LD_HEADS:
        return dict(type='DistilledSingleStageDetector', teacher=teacher, bbox_head=dict(type=LD_HEADS[head]))
    raise ConfigError(
        f'distillation from the unpruned model: an ImageClassifier, or a single-stage detector with one of the heads '
        f'{sorted(LD_HEADS)}; this model is a {type(model).__name__} with {head}'
    )
