"""The depthwise convs of the blocks: a plain one (conv + norm + act) and PP-LCNetV2's re-parameterisable one."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_conv_layer

from lcnet_mm.utils import check_odd_int
from .norm_folding import folded_weight_and_bias


def depthwise_conv_module(channels: int, kernel_size: int, stride, dilation: int, **layer_cfg) -> ConvModule:
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


class RepDepthwiseConv(nn.Module):
    """A re-parameterisable depthwise conv (PP-LCNetV2): parallel depthwise conv + norm branches of kernel
    sizes ``k, k-2, ..., 1``, summed, then the activation.

    The branches see the same input at the same centre and each is linear in eval mode, so their sum is one
    ``k x k`` depthwise conv with bias (each smaller kernel zero-padded to ``k``): training gets the richer
    multi-branch gradients, inference pays for a single conv. :meth:`switch_to_deploy` merges them; the
    ``deploy=True`` form is built merged, with the state dict of a ``ConvModule`` without norm
    (``conv.weight``, ``conv.bias``).

    Args:
        channels (int): Input and output channels (one group per channel).
        kernel_size (int): The largest kernel (odd); the branches are every odd size down to 1.
        stride (int): Stride of every branch.
        dilation (int): Dilation of every branch (each padded to keep the map size), so the merged kernel
            is the same at every output stride.
        with_1x1 (bool | None): Include the 1x1 branch. None: only at stride 1, as in PaddleClas (at stride 2
            it would only sample every other pixel). A block that a smaller output stride runs at stride 1
            instead of 2 passes False, keeping its parameters.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs; the activation follows the sum.
        deploy (bool): Build the merged form.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 5,
        stride: int = 1,
        dilation: int = 1,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        with_1x1: bool = None,
        deploy: bool = False,
    ):
        super().__init__()
        check_odd_int(kernel_size, 'RepDepthwiseConv kernel_size')
        self.channels, self.kernel_size, self.stride, self.dilation = channels, kernel_size, stride, dilation
        self.conv_cfg = conv_cfg
        with_1x1 = stride == 1 if with_1x1 is None else with_1x1
        self.branch_kernel_sizes = tuple(k for k in range(kernel_size, 0, -2) if k > 1 or with_1x1)
        if deploy:
            self.conv = self._conv(kernel_size, bias=True)
            self.branches = None
        else:
            self.conv = None
            self.branches = nn.ModuleList(
                depthwise_conv_module(channels, k, stride, dilation, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
                for k in self.branch_kernel_sizes
            )
        self.activate = build_activation_layer(act_cfg) if act_cfg is not None else nn.Identity()

    def _conv(self, kernel_size: int, bias: bool) -> nn.Module:
        return build_conv_layer(
            self.conv_cfg,
            self.channels,
            self.channels,
            kernel_size,
            stride=self.stride,
            padding=self.dilation * (kernel_size // 2),
            dilation=self.dilation,
            groups=self.channels,
            bias=bias,
        )

    @property
    def deploy(self) -> bool:
        return self.branches is None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            return self.activate(self.conv(x))
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return self.activate(out)

    def merged_weight_and_bias(self) -> tuple:
        """The kernel and bias of the single conv that equals the eval-mode sum of the branches (float64)."""
        weight = bias = 0
        for branch in self.branches:
            branch_weight, branch_bias = folded_weight_and_bias(branch)
            pad = (self.kernel_size - branch_weight.shape[-1]) // 2
            weight = weight + F.pad(branch_weight, [pad] * 4)
            bias = bias + branch_bias
        return weight, bias

    def switch_to_deploy(self):
        """Merge the branches into one conv with bias, in place. A second call changes nothing."""
        if self.deploy:
            return self
        weight, bias = self.merged_weight_and_bias()
        reference = self.branches[0].conv.weight
        conv = self._conv(self.kernel_size, bias=True).to(reference.device)
        conv.weight = nn.Parameter(weight.to(reference.dtype), requires_grad=reference.requires_grad)
        conv.bias = nn.Parameter(bias.to(reference.dtype), requires_grad=reference.requires_grad)
        self.conv, self.branches = conv, None
        return self
