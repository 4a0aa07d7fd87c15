"""PP-LCNetV3's conv: parallel conv + norm branches that merge into one conv for inference, each output scaled
and shifted by a learnable scalar pair (PaddleOCR's "learnable affine block")."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_conv_layer, build_norm_layer

from lcnet_mm.utils import check_int, check_odd_int
from .norm_folding import folded_weight_and_bias


class LearnableAffine(nn.Module):
    """``x * scale + bias`` with one learnable scalar each. PaddleOCR trains them at a tenth of the learning rate:
    in mmengine, ``paramwise_cfg=dict(custom_keys={'affine': dict(lr_mult=0.1)})`` (every affine of
    :class:`LearnableRepConv` has ``affine`` in its name)."""

    def __init__(self, scale: float = 1.0, bias: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([float(scale)]))
        self.bias = nn.Parameter(torch.tensor([float(bias)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias


class LearnableRepConv(nn.Module):
    """A conv trained as a sum of parallel branches and run as one conv (PP-LCNetV3's depthwise and pointwise
    convs): ``num_branches`` kxk conv + norm branches, a 1x1 conv + norm branch where k > 1, and the input
    through a norm alone where the conv keeps its width at stride 1. The sum is scaled and shifted by a
    :class:`LearnableAffine` (``affine``), then activated and scaled and shifted again (``act_affine``).

    Every branch is linear in eval mode and sees the same centre, so :meth:`switch_to_deploy` folds each norm,
    pads each kernel to kxk (the identity as a centred one-hot kernel) and adds them: one conv with bias.

    Args:
        in_channels, out_channels (int): Channels.
        kernel_size (int): The branches' kernel (odd).
        stride (int | tuple): 1, 2 or an (h, w) pair. As in PaddleOCR, the activation is skipped at stride 2 only
            (an (h, w) stride such as (2, 1) keeps it) and the identity branch exists at stride 1 only.
        groups (int): 1, or ``in_channels`` for the depthwise conv.
        num_branches (int): kxk branches (PaddleOCR's ``conv_kxk_num``, 4 in every published model).
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs; ``act_cfg`` None for no activation.
        deploy (bool): Build the merged form (``conv`` with bias, the two affines and the activation).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride=1,
        groups: int = 1,
        num_branches: int = 4,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        deploy: bool = False,
    ):
        super().__init__()
        check_odd_int(kernel_size, 'LearnableRepConv kernel_size')
        check_int(num_branches, 'conv_kxk_num (kxk branches of a PP-LCNetV3 conv)', minimum=1)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.groups, self.conv_cfg = stride, groups, conv_cfg
        if deploy:
            self.conv = self._conv(kernel_size, bias=True)
            self.branches = self.branch_1x1 = self.identity = None
        else:
            self.conv = None
            self.branches = nn.ModuleList(self._conv_norm(kernel_size, norm_cfg) for _ in range(num_branches))
            self.branch_1x1 = self._conv_norm(1, norm_cfg) if kernel_size > 1 else None
            keeps_shape = in_channels == out_channels and stride == 1
            self.identity = build_norm_layer(norm_cfg, in_channels)[1] if keeps_shape else None
        self.affine = LearnableAffine()
        if act_cfg is not None and stride != 2:
            self.activate, self.act_affine = build_activation_layer(act_cfg), LearnableAffine()
        else:
            self.activate = self.act_affine = None

    def _conv(self, kernel_size: int, bias: bool) -> nn.Module:
        return build_conv_layer(
            self.conv_cfg,
            self.in_channels,
            self.out_channels,
            kernel_size,
            stride=self.stride,
            padding=kernel_size // 2,
            groups=self.groups,
            bias=bias,
        )

    def _conv_norm(self, kernel_size: int, norm_cfg: dict) -> ConvModule:
        return ConvModule(
            self.in_channels,
            self.out_channels,
            kernel_size,
            stride=self.stride,
            padding=kernel_size // 2,
            groups=self.groups,
            conv_cfg=self.conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=None,
        )

    @property
    def deploy(self) -> bool:
        return self.branches is None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.deploy:
            out = self.conv(x)
        else:
            out = self.branches[0](x)
            for branch in [*self.branches[1:], self.branch_1x1, self.identity]:
                if branch is not None:
                    out = out + branch(x)
        out = self.affine(out)
        if self.activate is not None:
            out = self.act_affine(self.activate(out))
        return out

    def _identity_weight_and_bias(self) -> tuple:
        norm = self.identity
        scale = norm.weight.detach().double() / torch.sqrt(norm.running_var.double() + norm.eps)
        bias = norm.bias.detach().double() - norm.running_mean.double() * scale
        per_group = self.in_channels // self.groups
        kernel = torch.zeros(self.in_channels, per_group, self.kernel_size, self.kernel_size, dtype=torch.float64)
        centre = self.kernel_size // 2
        kernel[torch.arange(self.in_channels), torch.arange(self.in_channels) % per_group, centre, centre] = 1
        return kernel * scale.view(-1, 1, 1, 1), bias

    def merged_weight_and_bias(self) -> tuple:
        """The kernel and bias of the one conv that equals the eval-mode sum of the branches (float64)."""
        weight = bias = 0
        parts = [folded_weight_and_bias(branch) for branch in self.branches]
        if self.branch_1x1 is not None:
            parts.append(folded_weight_and_bias(self.branch_1x1))
        if self.identity is not None:
            parts.append(self._identity_weight_and_bias())
        for part_weight, part_bias in parts:
            pad = (self.kernel_size - part_weight.shape[-1]) // 2
            weight = weight + F.pad(part_weight, [pad] * 4)
            bias = bias + part_bias
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
        self.conv, self.branches, self.branch_1x1, self.identity = conv, None, None, None
        return self
