"""What both PP-LCNet generations share as OpenMMLab backbones: a stem, then stages of blocks whose outputs
are returned by ``out_indices``, with ``frozen_stages``, ``norm_eval``, an inference form (``deploy``) and
argument checks that name the bad value and what is allowed."""

import math
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.io import (
    LOCAL_CHECKPOINT_SCHEMES,
    CheckpointMismatchError,
    refuse_foreign_checkpoint,
    refuse_shape_mismatches,
)
from ..layers import FoldsNormsForDeploy, deploy_layer_cfg

# PaddleClas's initialisation: Kaiming-normal (fan-in) convs, norm weight 1 and bias 0.
PADDLE_INIT_CFG = (
    dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='normal'),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
)


class StagedBackbone(FoldsNormsForDeploy, BaseModule):
    """Base of :class:`PPLCNet` and :class:`PPLCNetV2`. A subclass calls :meth:`_check_contract`, builds
    ``self.stem`` (:meth:`_build_stem`), then hands its stages' blocks to :meth:`_set_stages`."""

    # For the error raised on a checkpoint whose tensors have other shapes.
    mismatch_hint = 'A checkpoint of another width (scale) or arch?'
    foreign_hint = (
        'A checkpoint of another network? Give one of this backbone (tools/convert_weights.py, or paddle://, '
        'timm://, hf:// paths); an mmseg config that names an ImageNet ResNet in model.pretrained needs '
        'model.pretrained=None.'
    )

    def __init__(self, init_cfg=PADDLE_INIT_CFG, pretrained=None):
        # ``pretrained``: what mmseg's segmentors pass to their backbone (``model.pretrained`` of every
        # ResNet-based mmseg config), taken as mmseg's own backbones take it: a Pretrained init_cfg.
        if pretrained is not None:
            name = type(self).__name__
            if not isinstance(pretrained, str):
                raise TypeError(f'{name} pretrained must be a checkpoint path or None, got {pretrained!r}')
            if '://' in pretrained and not pretrained.startswith(LOCAL_CHECKPOINT_SCHEMES):
                # open-mmlab://resnet50_v1c and the like: another network's weights, and a download
                raise ValueError(
                    f'{name} pretrained={pretrained!r} names weights to download, not {name} weights (an mmseg '
                    'config left its ImageNet ResNet in model.pretrained?): set model.pretrained=None, or give a '
                    f'{name} checkpoint: a local file or a {", ".join(LOCAL_CHECKPOINT_SCHEMES)} path'
                )
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)

    def _check_contract(self, num_stages: int, out_indices, frozen_stages, norm_eval: bool, deploy: bool):
        name = type(self).__name__
        self.out_indices = check_out_indices(name, out_indices, num_stages)
        self.frozen_stages = check_frozen_stages(name, frozen_stages, num_stages)
        self.norm_eval = norm_eval
        self.deploy = deploy

    def _build_stem(self, in_channels: int, channels: int, conv_cfg, norm_cfg, act_cfg, stride=2) -> ConvModule:
        """The 3x3 conv + norm + act both generations start with, stride 2 unless a task model's strides say
        otherwise (norm folded when ``deploy``)."""
        return ConvModule(
            in_channels,
            channels,
            3,
            stride=stride,
            padding=1,
            conv_cfg=conv_cfg,
            act_cfg=act_cfg,
            **deploy_layer_cfg(self.deploy, norm_cfg),
        )

    def _set_stages(self, stages: Sequence[Sequence[nn.Module]], stage_channels: Sequence[int]):
        """``self.stages`` from each stage's blocks, the channels a neck reads off ``out_indices``
        (``self.out_channels``), then the freezing that ``frozen_stages`` asks for."""
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in stages)
        self.stage_channels = list(stage_channels)
        self.out_channels = tuple(self.stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    def describe(self) -> str:
        """The model as named in errors, e.g. ``PPLCNet(scale=1.0)``."""
        return f'{type(self).__name__}(scale={self.scale})'

    def forward(self, x: torch.Tensor) -> tuple:
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint of another width: mmengine would only warn about tensors of other shapes. (A checkpoint
        # of the other form, BN-folded or not, is refused by FoldsNormsForDeploy.)
        refuse_foreign_checkpoint(self, state_dict, prefix, self.describe(), self.foreign_hint)
        refuse_shape_mismatches(self, state_dict, prefix, self.describe(), self.mismatch_hint)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self):
        # mmcv's ConvModule re-initialises its own conv (Kaiming fan-out) after init_cfg has run, but only
        # where it is a direct child: keep init_cfg authoritative for the stem as for every block.
        if self.init_cfg:
            self.stem.is_init = True
        try:
            super().init_weights()
        except CheckpointMismatchError as error:  # a Pretrained init_cfg: its file is known here
            raise error.with_source(_pretrained_checkpoint(self.init_cfg)) from None

    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        for module in [self.stem, *self.stages[: self.frozen_stages + 1]]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def _pretrained_checkpoint(init_cfg):
    """The checkpoint of a ``Pretrained`` init_cfg (a dict or a list of them), or None."""
    for cfg in init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg.get('checkpoint')
    return None


def check_scale(name: str, scale, published: Sequence[float]) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)):
        raise TypeError(
            f'{name} scale must be a positive number (published: {tuple(published)}), got {scale!r} of type '
            f'{type(scale).__name__}'
        )
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(
            f'{name} scale must be a positive finite number (published: {tuple(published)}), got {scale!r}'
        )
    return float(scale)


def strides_and_dilations(name: str, stage_strides: list, output_stride, stem_stride: int = 2) -> list:
    """Per stage, per block: (stride, dilation, output stride after the block) for ``output_stride``, given the
    blocks' own strides (``stage_strides[i][j]``) after the stem's.

    A stride-2 block that would take the map past ``output_stride`` runs at stride 1 with the dilation
    so far; the blocks after it dilate by the stride given up (DeepLab's convention)."""
    natural = stem_stride
    reachable = []  # output strides the arch can be cut at: the stride after each stage
    for strides in stage_strides:
        natural *= math.prod(strides)
        reachable.append(natural)
    allowed = sorted({s for s in reachable if s >= 8} | {natural})
    if output_stride is None:
        output_stride = natural
    if not is_int(output_stride) or output_stride not in allowed:
        raise ValueError(
            f"{name} output_stride must be one of {allowed} (None: {natural}, the arch's own), got {output_stride!r}"
        )
    current, dilation, table = stem_stride, 1, []
    for strides in stage_strides:
        rows = []
        for stride in strides:
            if stride > 1 and current * stride > output_stride:
                rows.append((1, dilation, current))
                dilation *= stride
            else:
                current *= stride
                rows.append((stride, dilation, current))
        table.append(rows)
    return table


def check_out_indices(name: str, out_indices, num_stages: int) -> tuple:
    allowed = f'stage indices in [{-num_stages}, {num_stages - 1}]'
    if isinstance(out_indices, int) and not isinstance(out_indices, bool):
        out_indices = (out_indices,)
    if not isinstance(out_indices, Sequence) or isinstance(out_indices, str) or len(out_indices) == 0:
        raise TypeError(f'{name} out_indices must be a non-empty sequence of {allowed}, got {out_indices!r}')
    normalized = []
    for index in out_indices:
        if not is_int(index):
            raise TypeError(f'{name} out_indices must contain ints ({allowed}), got {index!r} in {out_indices!r}')
        if not -num_stages <= index < num_stages:
            raise ValueError(f'{name} out_indices has {index}, out of range: allowed are {allowed}')
        normalized.append(index % num_stages)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f'{name} out_indices {tuple(out_indices)} names a stage twice')
    return tuple(sorted(normalized))


def check_frozen_stages(name: str, frozen_stages, num_stages: int) -> int:
    if not is_int(frozen_stages):
        raise TypeError(f'{name} frozen_stages must be an int in [-1, {num_stages - 1}], got {frozen_stages!r}')
    if not -1 <= frozen_stages < num_stages:
        raise ValueError(
            f'{name} frozen_stages must be in [-1, {num_stages - 1}] (-1: nothing frozen), got {frozen_stages}'
        )
    return frozen_stages


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
