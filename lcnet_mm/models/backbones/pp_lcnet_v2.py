"""PP-LCNetV2 (PaddleClas, 2022), PP-LCNet's second generation for server CPUs, as an OpenMMLab backbone."""

from typing import Sequence, Union

from lcnet_mm.registry import MODELS
from ..layers import DepthwiseSeparableV2, make_divisible
from .staged_backbone import PADDLE_INIT_CFG, StagedBackbone, check_scale, is_int, strides_and_dilations

# The whole network: one row per stage, every block of a stage alike except that the first one has the
# stage's stride. Row: [kernel_size, out_channels at scale 1.0, stride, rep_depthwise, split_pointwise,
# use_se, shortcut]. Stage i outputs stride 2**(i+1), as in PPLCNet.
# V2 spends its extra compute where the maps are small: 5x5 re-parameterised depthwise convs in the last two
# stages, the two-step pointwise conv and SE in stage 3, shortcuts in stage 4 (whose blocks are deepest).
# fmt: off
PP_LCNET_V2 = [
    # k, out, stride, rep_dw, split_pw, se,  shortcut
    [3,   64,  1, False, False, False, False],  # stage 0 (PaddleClas stem.1), stride 2
    [3,  128,  2, False, False, False, False],  # stage 1 (stages.0), stride 4
    [3,  256,  2, False, False, False, False],  # stage 2 (stages.1), stride 8
    [5,  512,  2, True,  True,  True,  False],  # stage 3 (stages.2), stride 16
    [5, 1024,  2, True,  False, False, True],   # stage 4 (stages.3), stride 32
]
# fmt: on


@MODELS.register_module()
class PPLCNetV2(StagedBackbone):
    """PP-LCNetV2 backbone.

    A 3x3 stride-2 stem (ConvModule) followed by five stages of :class:`DepthwiseSeparableV2` blocks, built
    from the table ``PP_LCNET_V2``. Stage 0 is the stem's one depthwise-separable block (PaddleClas puts it
    in ``stem``); stages 1-4 are PaddleClas's four stages. Returns the feature maps of the stages in
    ``out_indices``; detection necks take ``(2, 3, 4)`` (strides 8/16/32), as with :class:`PPLCNet`.

    Args:
        arch (str | dict): ``'small'`` (x0.75, depths 2/2/4/2), ``'base'`` (x1.0, 2/2/6/2) or ``'large'``
            (x1.25, 2/2/8/2), or ``dict(scale=..., depths=[...])`` with one depth per stage (stage 0 has one
            block in the published models). Every width is ``make_divisible(c * scale, 8)``.
        stem_channels (int): Stem width at scale 1.0.
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Stages whose outputs are returned (negative indices count from the end).
        output_stride (int | None): Stride of the last stage's output; 8 or 16 dilate the later stages
            as in :class:`PPLCNet` (same parameters, so every checkpoint loads at every output stride).
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages``; -1 freezes nothing.
        se_cfg (dict): Keyword arguments of :class:`SqueezeExcitation` (V2: reduction 4, sigmoid gate).
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs for every conv (V2: ReLU).
        norm_eval (bool): Keep norm layers in eval mode while training (freezes their statistics).
        with_cp (bool): Gradient checkpointing in every block.
        deploy (bool): Build the inference form: every BN folded, every re-parameterisable depthwise conv
            merged into one conv, to load a checkpoint written after :meth:`switch_to_deploy`.
        init_cfg (dict | list[dict]): Kaiming-normal (fan-in) convs, norm weight 1 and bias 0 by default.
        pretrained (str | None): A checkpoint to start from, as mmseg's segmentors pass ``model.pretrained``
            to their backbone; the same as ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``. A
            checkpoint of another network (the ImageNet ResNet of mmseg's configs) is refused, naming it.
    """

    arch_settings = {
        'small': dict(scale=0.75, depths=(1, 2, 2, 4, 2)),
        'base': dict(scale=1.0, depths=(1, 2, 2, 6, 2)),
        'large': dict(scale=1.25, depths=(1, 2, 2, 8, 2)),
    }
    table = PP_LCNET_V2
    deploy_option = 'model.backbone.deploy'
    published_scales = (0.75, 1.0, 1.25)
    mismatch_hint = 'A checkpoint of another PP-LCNetV2 size (arch: scale or depths)?'

    def __init__(
        self,
        arch: Union[str, dict] = 'base',
        stem_channels: int = 32,
        in_channels: int = 3,
        out_indices: Sequence[int] = (4,),
        output_stride: int = None,
        frozen_stages: int = -1,
        se_cfg: dict = dict(ratio=4, act_cfg=(dict(type='ReLU'), dict(type='Sigmoid'))),
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU'),
        norm_eval: bool = False,
        with_cp: bool = False,
        deploy: bool = False,
        init_cfg=PADDLE_INIT_CFG,
        pretrained: str = None,
    ):
        super().__init__(init_cfg=init_cfg, pretrained=pretrained)
        self.arch = _check_arch(self.arch_settings, arch, len(self.table))
        self.scale, self.depths = self.arch['scale'], self.arch['depths']
        self._check_contract(len(self.table), out_indices, frozen_stages, norm_eval, deploy)
        block_strides = [[row[2]] + [1] * (depth - 1) for row, depth in zip(self.table, self.depths)]
        strides = strides_and_dilations('PPLCNetV2', block_strides, output_stride)
        self.output_stride = strides[-1][-1][2]

        def width(channels):
            return make_divisible(channels * self.scale)

        channels = width(stem_channels)
        self.stem = self._build_stem(in_channels, channels, conv_cfg, norm_cfg, act_cfg)
        stages, stage_channels = [], []
        for row, own_strides, stage_strides in zip(self.table, block_strides, strides):
            kernel_size, out_channels, _, rep_depthwise, split_pointwise, use_se, shortcut = row
            blocks = []
            for own_stride, (stride, dilation, _) in zip(own_strides, stage_strides):
                blocks.append(
                    DepthwiseSeparableV2(
                        channels,
                        width(out_channels),
                        kernel_size,
                        stride,
                        dilation,
                        own_stride=own_stride,
                        rep_depthwise=rep_depthwise,
                        split_pointwise=split_pointwise,
                        se_cfg=se_cfg if use_se else None,
                        # By the table's stride, not the dilated one: a block has the same parameters and
                        # computes the same function at every output stride.
                        shortcut=shortcut and own_stride == 1 and channels == width(out_channels),
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg,
                        with_cp=with_cp,
                        deploy=deploy,
                    )
                )
                channels = width(out_channels)
            stages.append(blocks)
            stage_channels.append(channels)
        self._set_stages(stages, stage_channels)

    def describe(self) -> str:
        return f'PPLCNetV2(scale={self.scale}, depths={self.depths})'


def _check_arch(arch_settings: dict, arch, num_stages: int) -> dict:
    """``dict(scale, depths)`` for ``arch`` (a preset name or such a dict), checked."""
    help_text = (
        f'PPLCNetV2 arch must be one of {sorted(arch_settings)} or dict(scale=<positive number>, '
        f'depths=<{num_stages} positive ints, one per stage>)'
    )
    if isinstance(arch, str):
        if arch not in arch_settings:
            raise ValueError(f'{help_text}, got {arch!r}')
        arch = arch_settings[arch]
    if not isinstance(arch, dict) or set(arch) != {'scale', 'depths'}:
        raise ValueError(f'{help_text}, got {arch!r}')
    depths = arch['depths']
    if (
        not isinstance(depths, (list, tuple))
        or len(depths) != num_stages
        or not all(is_int(d) and d > 0 for d in depths)
    ):
        raise ValueError(f'{help_text}, got depths={depths!r}')
    return dict(scale=check_scale('PPLCNetV2', arch['scale'], PPLCNetV2.published_scales), depths=tuple(depths))
