"""PP-LCNetV3 (PaddleOCR, 2023), the generation inside PP-OCRv4/v5's mobile text detector and recogniser, as an
OpenMMLab backbone."""

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_choice, check_int_seq
from ..layers import LearnableRepConv, SqueezeExcitation, make_divisible
from .staged_backbone import PADDLE_INIT_CFG, BlockRow, StagedBackbone, check_scale

# PP-LCNet's table, one block shorter in stage 3 and with two more 5x5 blocks (without SE) in stage 4: V3's
# capacity is in its training-time branches, not its depth. Stage i is PaddleOCR's blocks{i + 2}.
# fmt: off
PP_LCNET_V3_DET = [
    [BlockRow(3, 32, 1, False)],                                                 # stage 0, stride 2
    [BlockRow(3, 64, 2, False), BlockRow(3, 64, 1, False)],                      # stage 1, stride 4
    [BlockRow(3, 128, 2, False), BlockRow(3, 128, 1, False)],                    # stage 2, stride 8
    [BlockRow(3, 256, 2, False)] + [BlockRow(5, 256, 1, False)] * 4,             # stage 3, stride 16
    [BlockRow(5, 512, 2, True), BlockRow(5, 512, 1, True)]
    + [BlockRow(5, 512, 1, False)] * 2,                                          # stage 4, stride 32
]
# The recogniser's: the same blocks, strided so that a text line (e.g. 48x320) keeps its width longer than its
# height: (h, w) strides, and stage 1 at stride 1.
PP_LCNET_V3_REC = [
    [BlockRow(3, 32, 1, False)],
    [BlockRow(3, 64, 1, False), BlockRow(3, 64, 1, False)],
    [BlockRow(3, 128, (2, 1), False), BlockRow(3, 128, 1, False)],
    [BlockRow(3, 256, (1, 2), False)] + [BlockRow(5, 256, 1, False)] * 4,
    [BlockRow(5, 512, (2, 1), True), BlockRow(5, 512, 1, True),
     BlockRow(5, 512, (2, 1), False), BlockRow(5, 512, 1, False)],
]
# fmt: on

# The text detector's backbone returns stages 1-4 (strides 4-32), each through a 1x1 conv (with bias) to
# int(c * scale) of these widths (PaddleOCR's ``layer_list``), whatever the stage's own width.
DET_PROJECTIONS = (16, 24, 56, 480)


class LCNetV3Block(nn.Module):
    """Depthwise :class:`LearnableRepConv`, SE (in the first two blocks of the last stage), pointwise
    :class:`LearnableRepConv`."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, se_cfg=None, with_cp=False, **conv_cfg):
        super().__init__()
        self.with_cp = with_cp
        self.depthwise_conv = LearnableRepConv(
            in_channels, in_channels, kernel_size, stride, groups=in_channels, **conv_cfg
        )
        self.se = SqueezeExcitation(in_channels, **se_cfg) if se_cfg is not None else None
        self.pointwise_conv = LearnableRepConv(in_channels, out_channels, 1, 1, **conv_cfg)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise_conv(x)
        if self.se is not None:
            x = self.se(x)
        return self.pointwise_conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


@MODELS.register_module()
class PPLCNetV3(StagedBackbone):
    """PP-LCNetV3 backbone.

    A 3x3 stride-2 conv + norm stem (no activation), then five stages of :class:`LCNetV3Block` from a table:
    ``'det'`` (the text detector's, every stage stride 2 but the first) or ``'rec'`` (the recogniser's, with (h, w)
    strides). Every width is ``make_divisible(c * scale, 16)``.

    Args:
        arch (str): ``'det'`` or ``'rec'``.
        scale (float): Width multiplier: 0.75 in PP-OCRv4/v5 mobile det, 0.95 in their recogniser; any positive
            number works.
        conv_kxk_num (int): kxk branches of every conv (4 in every published model).
        out_indices (Sequence[int] | None): Stages returned. None: ``(1, 2, 3, 4)`` for ``'det'``, ``(4,)`` for
            ``'rec'``.
        projection_channels (Sequence[int] | None): Each returned stage through a 1x1 conv (with bias) to this
            many channels, one width per returned stage. None: ``int(c * scale)`` of ``(16, 24, 56, 480)`` for
            ``'det'`` (PaddleOCR's text detector: 12, 18, 42, 360 at x0.75), none for ``'rec'``; ``()`` for none.
        stem_channels (int): Stem width at scale 1.0.
        se_cfg (dict): :class:`SqueezeExcitation` arguments (reduction 4, ReLU / hard sigmoid as PaddleOCR).
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs (V3: H-Swish).
        frozen_stages, norm_eval, with_cp, deploy, init_cfg, pretrained: as :class:`PPLCNet`. ``deploy`` builds
            every conv merged (:meth:`switch_to_deploy`'s form).
    """

    tables = {'det': PP_LCNET_V3_DET, 'rec': PP_LCNET_V3_REC}
    deploy_option = 'model.backbone.deploy'
    published_scales = (0.75, 0.95)
    mismatch_hint = 'A checkpoint of another PP-LCNetV3 (arch det/rec, scale or projection_channels)?'

    def __init__(
        self,
        arch: str = 'det',
        scale: float = 1.0,
        conv_kxk_num: int = 4,
        out_indices: Optional[Sequence[int]] = None,
        projection_channels: Optional[Sequence[int]] = None,
        stem_channels: int = 16,
        in_channels: int = 3,
        frozen_stages: int = -1,
        se_cfg: dict = dict(ratio=4),
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        norm_eval: bool = False,
        with_cp: bool = False,
        deploy: bool = False,
        init_cfg=PADDLE_INIT_CFG,
        pretrained: str = None,
    ):
        super().__init__(init_cfg=init_cfg, pretrained=pretrained)
        self.arch_name = check_choice(arch, 'PPLCNetV3 arch', sorted(self.tables))
        self.scale = check_scale('PPLCNetV3', scale, self.published_scales)
        self.arch = self.tables[arch]
        if out_indices is None:
            out_indices = (1, 2, 3, 4) if arch == 'det' else (4,)
        self._check_contract(len(self.arch), out_indices, frozen_stages, norm_eval, deploy)
        if projection_channels is None:
            projection_channels = tuple(int(c * self.scale) for c in DET_PROJECTIONS) if arch == 'det' else ()
        projection_channels = check_int_seq(projection_channels, 'PPLCNetV3 projection_channels', minimum=1)
        if projection_channels and len(projection_channels) != len(self.out_indices):
            raise ValueError(
                f'PPLCNetV3 projection_channels must have one width per returned stage (out_indices '
                f'{self.out_indices}) or be empty, got {projection_channels!r}'
            )
        self._make_network(
            self.arch,
            in_channels,
            stem_channels,
            se_cfg=se_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp,
            num_branches=conv_kxk_num,
        )
        self.projections = None
        if projection_channels:
            self.projections = nn.ModuleList(
                nn.Conv2d(self.stage_channels[i], width, 1) for i, width in zip(self.out_indices, projection_channels)
            )
            self.out_channels = projection_channels

    def width(self, channels: int) -> int:
        return make_divisible(channels * self.scale, 16)

    def _build_stem(self, in_channels, channels, stride, conv_cfg, norm_cfg, act_cfg) -> ConvModule:
        return super()._build_stem(in_channels, channels, stride, conv_cfg, norm_cfg, act_cfg=None)

    def build_block(
        self,
        in_channels,
        out_channels,
        row: BlockRow,
        stride,
        dilation,
        own_stride,
        sizes=None,
        se_cfg=None,
        with_cp=False,
        **conv_cfg,
    ) -> nn.Module:
        return LCNetV3Block(
            in_channels,
            out_channels,
            row.kernel_size,
            stride,
            se_cfg=se_cfg if row.use_se else None,
            with_cp=with_cp,
            deploy=self.deploy,
            **conv_cfg,
        )

    def forward(self, x: torch.Tensor) -> tuple:
        outs = super().forward(x)
        if self.projections is None:
            return outs
        return tuple(projection(out) for projection, out in zip(self.projections, outs))

    def describe(self) -> str:
        return f'PPLCNetV3(arch={self.arch_name!r}, scale={self.scale})'
