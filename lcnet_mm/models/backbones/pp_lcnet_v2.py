"""PP-LCNetV2 (PaddleClas, 2022), PP-LCNet's second generation for server CPUs, as an OpenMMLab backbone."""

from typing import List, Sequence, Union

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import is_int_seq
from .staged_backbone import PADDLE_INIT_CFG, BlockRow, StagedBackbone, check_scale

# The whole network: one row per stage (PP-LCNet's row type), every block of a stage alike except that the
# first one has the stage's stride; ``depths`` repeat them. Stage i outputs stride 2**(i+1), as in PPLCNet.
# V2 spends its extra compute where the maps are small: 5x5 re-parameterised depthwise convs in the last two
# stages, the two-step pointwise conv and SE in stage 3, shortcuts in stage 4 (whose blocks are deepest).
# fmt: off
PP_LCNET_V2 = [
    #        k,  out, stride, use_se, rep_depthwise, split_pointwise, shortcut
    BlockRow(3,   64, 1,      False,  False,         False,           False),  # stage 0 (PaddleClas stem.1), s2
    BlockRow(3,  128, 2,      False,  False,         False,           False),  # stage 1 (stages.0), s4
    BlockRow(3,  256, 2,      False,  False,         False,           False),  # stage 2 (stages.1), s8
    BlockRow(5,  512, 2,      True,   True,          True,            False),  # stage 3 (stages.2), s16
    BlockRow(5, 1024, 2,      False,  True,          False,           True),   # stage 4 (stages.3), s32
]
# fmt: on


def expand_stages(rows: Sequence[BlockRow], depths: Sequence[int]) -> List[List[BlockRow]]:
    """The table of stages: each stage row ``depth`` times, only the first block at the stage's stride."""
    return [[row] + [row._replace(stride=1)] * (depth - 1) for row, depth in zip(rows, depths)]


@MODELS.register_module()
class PPLCNetV2(StagedBackbone):
    """PP-LCNetV2 backbone.

    A 3x3 stride-2 stem (ConvModule) followed by five stages of :class:`DepthwiseSeparable` blocks, built
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
        widths (dict | None): Every width given exactly instead of scaled, as :class:`PPLCNet`'s ``widths``: one
            entry per block of the expanded arch, ``dict(out=..., se=..., mid=...)`` where a block has SE or a split
            pointwise conv. A pruned network's widths; ``arch``'s scale then only names what it was pruned from.
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
    mismatch_hint = 'A checkpoint of another PP-LCNetV2 size (arch: scale or depths; or widths)?'

    def __init__(
        self,
        arch: Union[str, dict] = 'base',
        stem_channels: int = 32,
        in_channels: int = 3,
        out_indices: Sequence[int] = (4,),
        output_stride: int = None,
        widths: dict = None,
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
        size = _check_arch(self.arch_settings, arch, len(self.table))
        self.scale, self.depths = size['scale'], size['depths']
        self.arch = expand_stages(self.table, self.depths)
        self._check_contract(len(self.arch), out_indices, frozen_stages, norm_eval, deploy)
        self._make_network(
            self.arch,
            in_channels,
            stem_channels,
            output_stride,
            widths=widths,
            se_cfg=se_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp,
        )

    def describe(self) -> str:
        return f'PPLCNetV2(scale={self.scale}, depths={self.depths}{self._widths_said()})'


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
    if not is_int_seq(arch['depths'], minimum=1, length=num_stages):
        raise ValueError(f'{help_text}, got depths={arch["depths"]!r}')
    scale = check_scale('PPLCNetV2', arch['scale'], PPLCNetV2.published_scales)
    return dict(scale=scale, depths=tuple(arch['depths']))
