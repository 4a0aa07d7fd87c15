"""The path-aggregation topology PicoDet's necks share (PaddleDetection ``LCPAN`` and ``CSPPAN``)."""

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from lcnet_mm.utils import check_int, check_odd_int, is_int_seq
from ..layers import DepthwiseSeparable, FoldsNormsForDeploy, deploy_layer_cfg


class PathAggregation(FoldsNormsForDeploy, BaseModule):
    """Top-down then bottom-up fusion of equal-width levels, with an optional extra coarser level.

    1. Each input is reduced to ``out_channels`` by a 1x1 conv.
    2. Top-down: the coarser result is upsampled (nearest, to the finer map's size: x2 for inputs whose
       sides divide by the coarsest stride), concatenated with the next finer input
       (2C channels) and fused back to C by :meth:`build_fusion_block`.
    3. Bottom-up: the finer output goes down by a stride-2 depthwise-separable conv, is concatenated with
       the next top-down result and fused again.
    4. ``num_outs = len(in_channels) + 1`` adds a level at half the coarsest resolution: the sum of
       stride-2 convs of the coarsest reduced input and of the coarsest output (PicoDet's P6).

    Subclasses only say how two concatenated levels are fused.

    Args:
        in_channels (Sequence[int]): Channels of the inputs, finest first.
        out_channels (int): Channels of every output.
        num_outs (int): ``len(in_channels)`` or one more (the extra level).
        kernel_size (int): Depthwise kernel of every downsampling and fusion conv.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs.
        deploy (bool): Build the inference form, every BN already folded into its conv (what
            :meth:`switch_to_deploy` turns a trained neck into).
    """

    deploy_option = 'model.neck.deploy'

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int = None,
        kernel_size: int = 5,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        deploy: bool = False,
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='uniform'),
    ):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = _check_in_channels(type(self).__name__, in_channels)
        num_inputs = len(self.in_channels)
        self.num_outs = num_inputs if num_outs is None else num_outs
        if self.num_outs not in (num_inputs, num_inputs + 1):
            raise ValueError(
                f'{type(self).__name__} num_outs must be {num_inputs} (one output per input) or {num_inputs + 1} '
                f'(plus a coarser level), got {num_outs!r}'
            )
        self.out_channels = check_int(out_channels, f'{type(self).__name__} out_channels', minimum=1)
        self.kernel_size = check_odd_int(kernel_size, f'{type(self).__name__} kernel_size')
        self.deploy = deploy
        self.layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.reduce_convs = nn.ModuleList(self.conv_module(c, out_channels, 1) for c in self.in_channels)
        self.top_down_blocks = nn.ModuleList(self.build_fusion_block() for _ in range(num_inputs - 1))
        self.downsamples = nn.ModuleList(self._downsample() for _ in range(num_inputs - 1))
        self.bottom_up_blocks = nn.ModuleList(self.build_fusion_block() for _ in range(num_inputs - 1))
        if self.num_outs > num_inputs:
            self.extra_input_downsample = self._downsample()
            self.extra_output_downsample = self._downsample()

    def build_fusion_block(self) -> nn.Module:
        """A module from ``2 * out_channels`` (two concatenated levels) to ``out_channels`` channels."""
        raise NotImplementedError

    def conv_module(self, in_channels: int, out_channels: int, kernel_size: int) -> ConvModule:
        """A conv + norm + act, in the form (training or deploy) of this neck."""
        cfg = self.layer_cfg
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            padding=kernel_size // 2,
            conv_cfg=cfg['conv_cfg'],
            act_cfg=cfg['act_cfg'],
            **deploy_layer_cfg(self.deploy, cfg['norm_cfg']),
        )

    def depthwise_separable(self, in_channels: int, out_channels: int, stride: int = 1) -> DepthwiseSeparable:
        return DepthwiseSeparable(
            in_channels, out_channels, self.kernel_size, stride=stride, deploy=self.deploy, **self.layer_cfg
        )

    def _downsample(self) -> nn.Module:
        return self.depthwise_separable(self.out_channels, self.out_channels, stride=2)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'{type(self).__name__} expects {len(self.in_channels)} inputs, got {len(inputs)}')
        reduced = [conv(x) for conv, x in zip(self.reduce_convs, inputs)]

        top_down = [reduced[-1]]
        for block, finer in zip(self.top_down_blocks, reversed(reduced[:-1])):
            upsampled = F.interpolate(top_down[0], size=finer.shape[-2:], mode='nearest')
            top_down.insert(0, block(torch.cat([upsampled, finer], 1)))

        outs = [top_down[0]]
        for downsample, block, coarser in zip(self.downsamples, self.bottom_up_blocks, top_down[1:]):
            outs.append(block(torch.cat([downsample(outs[-1]), coarser], 1)))

        if self.num_outs > len(self.in_channels):
            outs.append(self.extra_input_downsample(reduced[-1]) + self.extra_output_downsample(outs[-1]))
        return tuple(outs)


def _check_in_channels(name: str, in_channels) -> list:
    if not (is_int_seq(in_channels, minimum=1) and len(in_channels) >= 2):
        raise ValueError(f'{name} in_channels must be a list of at least two positive ints, got {in_channels!r}')
    return list(in_channels)
