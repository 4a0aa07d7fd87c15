"""RSEFPN: the neck of PaddleOCR's mobile text detectors (PP-OCRv3-v5 mobile det)."""

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int, check_int_seq
from ..layers import SqueezeExcitation


class SlopedHardsigmoid(nn.Module):
    """``clamp(x * slope + offset, 0, 1)``: PaddleOCR's text-detector SE gate has slope 0.2 (torch's
    ``nn.Hardsigmoid`` has 1/6). ``inplace`` is what mmcv's ``ConvModule`` passes to activations; ignored."""

    def __init__(self, slope: float = 0.2, offset: float = 0.5, inplace: bool = False):
        super().__init__()
        self.slope, self.offset = slope, offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x * self.slope + self.offset, 0.0, 1.0)


class ResidualSEConv(nn.Module):
    """A conv without bias, then squeeze-excitation, the SE output added to the conv's (``shortcut``) or alone."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, shortcut: bool = True, conv_cfg=None):
        super().__init__()
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False
        )
        self.se = SqueezeExcitation(
            out_channels, ratio=4, conv_cfg=conv_cfg, act_cfg=(dict(type='ReLU'), dict(type=SlopedHardsigmoid))
        )
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x + self.se(x) if self.shortcut else self.se(x)


@MODELS.register_module()
class RSEFPN(BaseModule):
    """A top-down feature pyramid whose every conv carries a residual SE, fused by concatenation at the finest
    level (stride 4), as DB text detectors take it.

    Each input i goes through a 1x1 :class:`ResidualSEConv` to ``out_channels``; coarser levels are added into
    finer ones (nearest up-sampling); each level then goes through a 3x3 :class:`ResidualSEConv` to
    ``out_channels // 4`` and is up-sampled to the finest level's size; the four are concatenated, coarsest first.
    Returns one map of ``out_channels`` channels at the finest input's stride (a tuple of one, as mmdet necks do).

    Args:
        in_channels (Sequence[int]): Channels of the inputs, finest first (PP-LCNetV3 det x0.75: 12, 18, 42, 360).
        out_channels (int): Width of the lateral maps and of the fused output (96 in PP-OCRv4/v5 mobile det); a
            multiple of 4.
        shortcut (bool): Add the SE output to the conv's (PaddleOCR's mobile det: True).
        conv_cfg (dict): Conv layer config.
        init_cfg (dict): Kaiming-uniform convs by default (PaddleOCR's).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int = 96,
        shortcut: bool = True,
        conv_cfg: dict = None,
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='uniform'),
    ):
        super().__init__(init_cfg=init_cfg)
        in_channels = check_int_seq(in_channels, 'RSEFPN in_channels', minimum=1)
        check_int(out_channels, 'RSEFPN out_channels', minimum=4)
        if out_channels % 4:
            raise ValueError(
                f'RSEFPN out_channels must be a multiple of 4 (four levels concatenated), got {out_channels}'
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lateral_convs = nn.ModuleList(ResidualSEConv(c, out_channels, 1, shortcut, conv_cfg) for c in in_channels)
        self.output_convs = nn.ModuleList(
            ResidualSEConv(out_channels, out_channels // 4, 3, shortcut, conv_cfg) for _ in in_channels
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple:
        if len(inputs) != len(self.in_channels):
            raise ValueError(f'RSEFPN was built for {len(self.in_channels)} inputs, got {len(inputs)}')
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:])
        size = laterals[0].shape[-2:]
        outs = [conv(x) for conv, x in zip(self.output_convs, laterals)]
        outs = [out if i == 0 else F.interpolate(out, size=size) for i, out in enumerate(outs)]
        return (torch.cat(outs[::-1], dim=1),)
