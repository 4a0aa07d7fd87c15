import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from .depthwise_separable import depthwise_conv_module, run_depthwise
from .norm_folding import deploy_layer_cfg, fold_norm_into_conv
from .rep_depthwise import RepDepthwiseConv
from .squeeze_excitation import SqueezeExcitation


class DepthwiseSeparableV2(nn.Module):
    """PP-LCNetV2's one block: PP-LCNet's depthwise-separable block with three options that V2 switches on
    stage by stage.

    depthwise kxk conv + norm + act (``rep_depthwise``: a :class:`RepDepthwiseConv`, parallel k, k-2, ..., 1
    branches merged for inference), optional squeeze-excitation on the depthwise output, pointwise 1x1
    conv + norm + act in one step or, with ``split_pointwise``, two (in -> out/2 -> out: fewer weights than
    one in -> out conv where both are wide), and with ``shortcut`` the input added to the output.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size (odd).
        stride (int): Depthwise stride (1 or 2).
        dilation (int): Depthwise dilation; the padding keeps the map size.
        own_stride (int | None): The block's stride in its table when a smaller output stride runs it at
            ``stride`` 1 instead: it keeps the branches (no 1x1 at 2) and so the parameters it has at its own.
        rep_depthwise (bool): Use a re-parameterisable depthwise conv.
        split_pointwise (bool): Two pointwise convs through ``int(out_channels / 2)`` channels.
        se_cfg (dict | None): Keyword arguments of :class:`SqueezeExcitation`; None for no SE.
        shortcut (bool): Add the input to the output; needs ``in_channels == out_channels`` and stride 1.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs (V2 uses ReLU throughout).
        with_cp (bool): Trade compute for memory with gradient checkpointing.
        deploy (bool): Build the inference form: norms folded, depthwise branches merged.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        own_stride: int = None,
        rep_depthwise: bool = False,
        split_pointwise: bool = False,
        se_cfg: dict = None,
        shortcut: bool = False,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        with_cp: bool = False,
        deploy: bool = False,
    ):
        super().__init__()
        if shortcut and (in_channels != out_channels or stride != 1):
            raise ValueError(
                f'DepthwiseSeparableV2 shortcut needs in_channels == out_channels and stride 1, got '
                f'{in_channels} -> {out_channels} at stride {stride}'
            )
        self.with_cp = with_cp
        self.shortcut = shortcut
        layer_cfg = dict(conv_cfg=conv_cfg, act_cfg=act_cfg, **deploy_layer_cfg(deploy, norm_cfg))
        if rep_depthwise:
            own_stride = stride if own_stride is None else own_stride
            self.depthwise_conv = RepDepthwiseConv(
                in_channels,
                kernel_size,
                stride,
                dilation,
                conv_cfg,
                norm_cfg,
                act_cfg,
                with_1x1=own_stride == 1,
                deploy=deploy,
            )
        else:
            self.depthwise_conv = depthwise_conv_module(in_channels, kernel_size, stride, dilation, **layer_cfg)
        self.se = SqueezeExcitation(in_channels, conv_cfg=conv_cfg, **se_cfg) if se_cfg is not None else None
        if split_pointwise:
            mid_channels = int(out_channels * 0.5)
            self.pointwise_conv = nn.Sequential(
                ConvModule(in_channels, mid_channels, 1, **layer_cfg),
                ConvModule(mid_channels, out_channels, 1, **layer_cfg),
            )
        else:
            self.pointwise_conv = ConvModule(in_channels, out_channels, 1, **layer_cfg)

    def switch_to_deploy(self):
        """Merge the depthwise branches and fold every norm (the SE convs have none)."""
        if isinstance(self.depthwise_conv, RepDepthwiseConv):
            self.depthwise_conv.switch_to_deploy()
        else:
            fold_norm_into_conv(self.depthwise_conv)
        for module in self.pointwise_conv.modules():
            if isinstance(module, ConvModule):
                fold_norm_into_conv(module)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = run_depthwise(self.depthwise_conv, x, self.training)
        if self.se is not None:
            out = self.se(out)
        out = self.pointwise_conv(out)
        return out + x if self.shortcut else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)
