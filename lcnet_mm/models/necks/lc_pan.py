"""LCPAN: the neck of PicoDet v2 (PaddleDetection ``ppdet/modeling/necks/lc_pan.py``)."""

import torch.nn as nn

from lcnet_mm.registry import MODELS
from .path_aggregation import PathAggregation


@MODELS.register_module()
class LCPAN(PathAggregation):
    """Path aggregation fused by PP-LCNet's own block: two ``DepthwiseSeparable`` blocks (5x5, no SE),
    2C -> 2C -> C, after each concatenation. PicoDet v2 uses ``num_outs=4`` (strides 8/16/32/64 from
    backbone strides 8/16/32) and C = 96 (XS, S), 128 (M) or 160 (L). See :class:`PathAggregation`."""

    def build_fusion_block(self) -> nn.Module:
        wide = 2 * self.out_channels
        return nn.Sequential(self.depthwise_separable(wide, wide), self.depthwise_separable(wide, self.out_channels))
