import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from .norm_folding import deploy_layer_cfg, fold_norm_into_conv
from .squeeze_excitation import SqueezeExcitation


def depthwise_conv_module(channels: int, kernel_size: int, stride: int, dilation: int, **layer_cfg) -> ConvModule:
    """A depthwise ``ConvModule`` whose padding keeps the map size at every dilation."""
    return ConvModule(
        channels,
        channels,
        kernel_size,
        stride=stride,
        padding=dilation * (kernel_size // 2),
        dilation=dilation,
        groups=channels,
        **layer_cfg,
    )


def run_depthwise(depthwise_conv: nn.Module, x: torch.Tensor, training: bool) -> torch.Tensor:
    """Apply a depthwise conv. In mixed-precision training on a CPU it runs in float32: oneDNN's BF16 depthwise
    backward is 2-3x slower than its float32 one (measured); the pointwise convs, where the compute is, still
    run in BF16."""
    if training and torch.is_autocast_enabled('cpu'):
        with torch.autocast('cpu', enabled=False):
            return depthwise_conv(x.float())
    return depthwise_conv(x)


class DepthwiseSeparable(nn.Module):
    """The one block PP-LCNet is made of: depthwise kxk conv + norm + act, optional squeeze-excitation
    on the depthwise output, then pointwise 1x1 conv + norm + act. No residual connection.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels of the pointwise conv.
        kernel_size (int): Depthwise kernel size (odd).
        stride (int): Depthwise stride (1 or 2).
        dilation (int): Depthwise dilation; the padding keeps the map size (``dilation * (k // 2)``).
        se_cfg (dict | None): Keyword arguments of :class:`SqueezeExcitation`; None for no SE.
        conv_cfg, norm_cfg, act_cfg (dict): Passed to mmcv's ``ConvModule``.
        with_cp (bool): Trade compute for memory with gradient checkpointing.
        deploy (bool): Build the inference form, each norm already folded into its conv
            (what :meth:`switch_to_deploy` turns a trained block into).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        se_cfg: dict = None,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        with_cp: bool = False,
        deploy: bool = False,
    ):
        super().__init__()
        self.with_cp = with_cp
        layer_cfg = dict(conv_cfg=conv_cfg, act_cfg=act_cfg, **deploy_layer_cfg(deploy, norm_cfg))
        self.depthwise_conv = depthwise_conv_module(in_channels, kernel_size, stride, dilation, **layer_cfg)
        self.se = SqueezeExcitation(in_channels, conv_cfg=conv_cfg, **se_cfg) if se_cfg is not None else None
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1, **layer_cfg)

    def switch_to_deploy(self):
        """Fold the norms into the convs (the SE convs have none)."""
        fold_norm_into_conv(self.depthwise_conv)
        fold_norm_into_conv(self.pointwise_conv)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = run_depthwise(self.depthwise_conv, x, self.training)
        if self.se is not None:
            x = self.se(x)
        return self.pointwise_conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
