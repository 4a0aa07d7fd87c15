import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from .depthwise_conv import RepDepthwiseConv, depthwise_conv_module, run_depthwise
from .norm_folding import deploy_layer_cfg
from .squeeze_excitation import SqueezeExcitation


class DepthwiseSeparable(nn.Module):
    """The one block of every PP-LCNet generation: depthwise kxk conv + norm + act, optional squeeze-excitation
    on the depthwise output, then pointwise 1x1 conv + norm + act.

    PP-LCNet (V1) uses it plain. PP-LCNetV2 switches on, stage by stage, three options that default off:
    ``rep_depthwise`` (parallel k, k-2, ..., 1 depthwise branches that merge into one conv for inference),
    ``split_pointwise`` (two 1x1 convs in -> out/2 -> out: fewer weights than one in -> out conv where both
    are wide) and ``shortcut`` (the input added to the output).

    The inference form (every norm folded, the branches merged) is reached through the network's
    ``switch_to_deploy()`` (:class:`FoldsNormsForDeploy`), or built directly with ``deploy=True``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels of the pointwise conv.
        kernel_size (int): Depthwise kernel size (odd).
        stride (int | tuple): Depthwise stride: 1, 2 or an (h, w) pair of them.
        dilation (int): Depthwise dilation; the padding keeps the map size (``dilation * (k // 2)``).
        se_cfg (dict | None): Keyword arguments of :class:`SqueezeExcitation`; None for no SE.
        rep_depthwise (bool): A :class:`RepDepthwiseConv` instead of one conv.
        split_pointwise (bool): Two pointwise convs through ``mid_channels`` channels.
        mid_channels (int | None): The middle width of a split pointwise conv; None: ``int(out_channels / 2)``.
        shortcut (bool): Add the input to the output; needs ``in_channels == out_channels`` and stride 1.
        own_stride (int | tuple | None): The block's stride in its table, where a smaller output stride runs it
            at ``stride`` 1 instead: a re-parameterised depthwise conv keeps the branches it has at its own
            stride (no 1x1 at 2), so the block has the same parameters at every output stride.
        conv_cfg, norm_cfg, act_cfg (dict): Passed to mmcv's ``ConvModule``.
        with_cp (bool): Trade compute for memory with gradient checkpointing.
        deploy (bool): Build the inference form.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride=1,
        dilation: int = 1,
        se_cfg: dict = None,
        rep_depthwise: bool = False,
        split_pointwise: bool = False,
        mid_channels: int = None,
        shortcut: bool = False,
        own_stride=None,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        with_cp: bool = False,
        deploy: bool = False,
    ):
        super().__init__()
        if shortcut and (in_channels != out_channels or stride != 1):
            raise ValueError(
                f'DepthwiseSeparable shortcut needs in_channels == out_channels and stride 1, got '
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
            mid_channels = int(out_channels * 0.5) if mid_channels is None else mid_channels
            self.pointwise_conv = nn.Sequential(
                ConvModule(in_channels, mid_channels, 1, **layer_cfg),
                ConvModule(mid_channels, out_channels, 1, **layer_cfg),
            )
        else:
            self.pointwise_conv = ConvModule(in_channels, out_channels, 1, **layer_cfg)

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
