"""The DB head (Liao et al., 2020, "Real-time Scene Text Detection with Differentiable Binarization"), as
PaddleOCR's text detectors use it: a probability map and a threshold map at the input image's resolution, and
their differentiable binarization while training."""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int, check_positive_number


class DBMapBranch(nn.Module):
    """One map from the neck's stride-4 features: 3x3 conv + norm + ReLU to C/4 channels, a 2x2 stride-2
    transposed conv (with bias) + norm + ReLU, a 2x2 stride-2 transposed conv to one channel, sigmoid."""

    def __init__(self, in_channels: int, norm_cfg: dict = dict(type='BN')):
        super().__init__()
        mid = in_channels // 4
        self.conv = ConvModule(in_channels, mid, 3, padding=1, bias=False, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
        self.upsample1 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.norm1 = build_norm_layer(norm_cfg, mid)[1]
        self.upsample2 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm1(self.upsample1(self.conv(x))))
        return torch.sigmoid(self.upsample2(x))


@MODELS.register_module()
class DBHead(BaseModule):
    """Probability and threshold maps of text regions, each a :class:`DBMapBranch`.

    In eval mode only the probability map is computed (the threshold map is a training signal). In training
    the forward returns ``(probability, threshold, binary)``, ``binary = sigmoid(k * (probability - threshold))``:
    the step function made differentiable, so the threshold map learns where text borders are.

    Args:
        in_channels (int): Channels of the neck's output (96 in PP-OCRv4/v5 mobile det); a multiple of 4.
        k (float): Steepness of the differentiable binarization (50, as DB and PaddleOCR).
        norm_cfg (dict): Norm layer config.
        init_cfg (dict | list[dict]): Norm weight 1 and bias 1e-4 (PaddleOCR's), Kaiming-uniform transposed convs.
    """

    def __init__(
        self,
        in_channels: int = 96,
        k: float = 50,
        norm_cfg: dict = dict(type='BN'),
        init_cfg=(
            dict(type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'], mode='fan_in', distribution='uniform'),
            dict(type='Constant', layer='_BatchNorm', val=1.0, bias=1e-4),
        ),
    ):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        check_int(in_channels, 'DBHead in_channels', minimum=4)
        if in_channels % 4:
            raise ValueError(f'DBHead in_channels must be a multiple of 4, got {in_channels}')
        self.k = check_positive_number(k, 'DBHead k')
        self.probability = DBMapBranch(in_channels, norm_cfg)
        self.threshold = DBMapBranch(in_channels, norm_cfg)

    def forward(self, x):
        if isinstance(x, (list, tuple)):  # an mmdet neck's tuple of one map
            (x,) = x
        probability = self.probability(x)
        if not self.training:
            return probability
        threshold = self.threshold(x)
        binary = torch.sigmoid(self.k * (probability - threshold))
        return probability, threshold, binary
