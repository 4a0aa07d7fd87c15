import torch
import torch.nn as nn
from mmcv.cnn import ConvModule


class SqueezeExcitation(nn.Module):
    """Channel attention: global average pool -> 1x1 conv (C -> C/ratio) -> ReLU -> 1x1 conv back to C
    -> hard-sigmoid -> rescale the input.

    The gate is torch's fused ``nn.Hardsigmoid``, given as the class (no registry look-up, which would import
    every toolbox's registration); configs name it ``lcnet_mm.Hardsigmoid`` (see :mod:`lcnet_mm.registry`).

    Args:
        channels (int): Input and output channels.
        ratio (int): Squeeze ratio: the squeezed width is ``channels // ratio``, not rounded
            (PaddleClas and timm agree; x0.35 gets 22 and 44 channels).
        act_cfg (tuple[dict]): Activations after the squeeze and the excite conv.
        squeeze_channels (int | None): The squeezed width itself, instead of ``channels // ratio`` (a pruned
            network's).
    """

    def __init__(
        self,
        channels: int,
        ratio: int = 4,
        conv_cfg: dict = None,
        act_cfg=(dict(type='ReLU'), dict(type=nn.Hardsigmoid)),
        squeeze_channels: int = None,
    ):
        super().__init__()
        squeeze_channels = channels // ratio if squeeze_channels is None else squeeze_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = ConvModule(
            channels, squeeze_channels, 1, conv_cfg=conv_cfg, norm_cfg=None, act_cfg=act_cfg[0], bias=True
        )
        self.excite = ConvModule(
            squeeze_channels, channels, 1, conv_cfg=conv_cfg, norm_cfg=None, act_cfg=act_cfg[1], bias=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.excite(self.squeeze(self.pool(x)))
