"""CSPPAN: the neck of PicoDet v1 (PaddleDetection ``ppdet/modeling/necks/csp_pan.py``), kept so that v1
PicoDet-LCNet weights (PP-Structure's layout models among them) load."""

import torch
import torch.nn as nn

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int
from .path_aggregation import PathAggregation


class CSPFusion(nn.Module):
    """Cross-stage-partial fusion: a 1x1 ``short_conv`` branch and a 1x1 ``main_conv`` branch followed by
    bottlenecks (1x1 conv, then a kxk depthwise-separable conv, no identity), concatenated and mixed by a
    1x1 ``final_conv``; the neck it belongs to builds its layers (kernel size, layer configs, form). mmdet's
    ``CSPLayer`` has the same wiring but its bottleneck's second conv is fixed at 3x3; PicoDet's is 5x5, hence
    this class."""

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int, neck: PathAggregation):
        super().__init__()
        mid_channels = out_channels // 2
        self.main_conv = neck.conv_module(in_channels, mid_channels, 1)
        self.short_conv = neck.conv_module(in_channels, mid_channels, 1)
        self.blocks = nn.Sequential(
            *(
                nn.Sequential(
                    neck.conv_module(mid_channels, mid_channels, 1),
                    neck.depthwise_separable(mid_channels, mid_channels),
                )
                for _ in range(num_blocks)
            )
        )
        self.final_conv = neck.conv_module(2 * mid_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_conv(torch.cat([self.blocks(self.main_conv(x)), self.short_conv(x)], 1))


@MODELS.register_module()
class CSPPAN(PathAggregation):
    """Path aggregation fused by :class:`CSPFusion` blocks (2C -> C). PicoDet v1 with PP-LCNet uses
    C = 128, ``num_outs=4`` and one bottleneck per fusion. See :class:`PathAggregation`.

    Args:
        num_csp_blocks (int): Bottlenecks per fusion block.
        **kwargs: :class:`PathAggregation`'s arguments.
    """

    def __init__(self, *args, num_csp_blocks: int = 1, **kwargs):
        self.num_csp_blocks = check_int(num_csp_blocks, 'CSPPAN num_csp_blocks', minimum=1)
        super().__init__(*args, **kwargs)

    def build_fusion_block(self) -> nn.Module:
        return CSPFusion(2 * self.out_channels, self.out_channels, self.num_csp_blocks, self)
