"""PP-LCNet (Cui et al., 2021, "PP-LCNet: A Lightweight CPU Convolutional Neural Network",
arXiv:2109.15099) as an OpenMMLab backbone."""

from typing import Sequence, Union

from lcnet_mm.registry import MODELS
from .staged_backbone import PADDLE_INIT_CFG, BlockRow, StagedBackbone, check_scale, check_table

# The whole network: one row per depthwise-separable block, one list per stage.
# Row: (kernel_size, out_channels at scale 1.0, stride, use_se). Stage i outputs stride 2**(i+1).
# The paper's choices are all visible here: 5x5 kernels only in the last seven blocks and SE only in
# the last two, because both help accuracy most where the feature maps are small and cost least there.
# fmt: off
PP_LCNET = [
    # stage 0 (PaddleClas blocks2), stride 2
    [BlockRow(3, 32, 1, False)],
    # stage 1 (blocks3), stride 4
    [BlockRow(3, 64, 2, False),
     BlockRow(3, 64, 1, False)],
    # stage 2 (blocks4), stride 8
    [BlockRow(3, 128, 2, False),
     BlockRow(3, 128, 1, False)],
    # stage 3 (blocks5), stride 16
    [BlockRow(3, 256, 2, False),
     BlockRow(5, 256, 1, False),
     BlockRow(5, 256, 1, False),
     BlockRow(5, 256, 1, False),
     BlockRow(5, 256, 1, False),
     BlockRow(5, 256, 1, False)],
    # stage 4 (blocks6), stride 32
    [BlockRow(5, 512, 2, True),
     BlockRow(5, 512, 1, True)],
]
# fmt: on


@MODELS.register_module()
class PPLCNet(StagedBackbone):
    """PP-LCNet backbone.

    A 3x3 stride-2 stem followed by stages of :class:`DepthwiseSeparable` blocks, built from a table
    (``arch``). Returns the feature maps of the stages in ``out_indices``.

    Args:
        scale (float): Width multiplier. Published: 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5; any
            positive number works. Every width (stem included) is ``make_divisible(c * scale, 8)``.
        arch (str | list): ``'pp_lcnet'`` or a table of stages in the same form as ``PP_LCNET``
            (a list of stages, each a list of :class:`BlockRow` or ``[kernel_size, out_channels, stride, use_se]``;
            the V2 options of a row may follow).
        stem_channels (int): Stem width at scale 1.0.
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Stages whose outputs are returned; stage ``i`` of the default arch
            has stride ``2**(i+1)``. Negative indices count from the end. Outputs come in stage order.
        output_stride (int | None): Stride of the last stage's output. None keeps the arch's own (32 for
            ``'pp_lcnet'``). Smaller values (8 or 16 for segmentation) keep the resolution the way DeepLab does:
            every stride-2 block past ``output_stride`` runs at stride 1 and the blocks after it dilate their
            depthwise convs by the stride they gave up (so 16: stage 4 dilated 2; 8: stage 3 by 2, stage 4
            by 4). Parameters are the same, so every checkpoint loads at every output stride.
        strides (Sequence[int | tuple] | None): The stride of the stem and of each stage's first block, stem
            first: ``(2, 1, 2, 2, 2, 2)`` for ``'pp_lcnet'``; None keeps the arch's. An entry is 1, 2 or an
            ``(h, w)`` pair of them, as PaddleOCR's text-line models set them (PaddleClas's ``stride_list``,
            which leaves out stage 0's 1): ``(2, 1, (2, 1), (2, 1), (2, 1), (2, 1))`` halves only the height after
            the stem. Parameters do not depend on strides, so every checkpoint loads at every setting. With
            ``(h, w)`` pairs ``output_stride`` must be None.
        widths (dict | None): Every width given exactly instead of scaled: ``dict(stem=16, blocks=[[32], [64, 64],
            ...])``, one entry per block of the arch (its output channels, or ``dict(out=..., se=...)`` with the
            squeeze width of its SE). A pruned network's widths; ``scale`` then only names what it was pruned from.
        frozen_stages (int): Freeze the stem and stages ``0..frozen_stages`` (parameters stop training,
            norm layers keep their statistics). -1 freezes nothing.
        se_cfg (dict): Keyword arguments of :class:`SqueezeExcitation` for the blocks marked ``use_se``.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs for every conv of the network.
        norm_eval (bool): Keep norm layers in eval mode while training (freezes their statistics).
        with_cp (bool): Gradient checkpointing in every block.
        deploy (bool): Build the inference form, every BN already folded into its conv, to load a
            checkpoint written after :meth:`switch_to_deploy` (``tools/switch_to_deploy.py``).
        init_cfg (dict | list[dict]): PaddleClas's initialisation by default: Kaiming-normal (fan-in)
            convs, norm weight 1 and bias 0.
        pretrained (str | None): A checkpoint to start from, as mmseg's segmentors pass ``model.pretrained``
            to their backbone; the same as ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``. A
            checkpoint of another network (the ImageNet ResNet of mmseg's configs) is refused, naming it.
    """

    arch_settings = {'pp_lcnet': PP_LCNET}
    deploy_option = 'model.backbone.deploy'
    mismatch_hint = 'A checkpoint of another PP-LCNet width (scale or widths) or arch?'
    published_scales = (0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5)

    def __init__(
        self,
        scale: float = 1.0,
        arch: Union[str, list] = 'pp_lcnet',
        stem_channels: int = 16,
        in_channels: int = 3,
        out_indices: Sequence[int] = (4,),
        output_stride: int = None,
        strides: Sequence = None,
        widths: dict = None,
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
        self.scale = check_scale('PPLCNet', scale, self.published_scales)
        self.arch = _check_arch(self.arch_settings, arch)
        self._check_contract(len(self.arch), out_indices, frozen_stages, norm_eval, deploy)
        self._make_network(
            self.arch,
            in_channels,
            stem_channels,
            output_stride,
            strides,
            widths,
            se_cfg=se_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp,
        )


def _check_arch(arch_settings: dict, arch) -> list:
    """The table of stages for ``arch`` (a name or a table), every row checked."""
    if isinstance(arch, str):
        if arch not in arch_settings:
            raise ValueError(f'PPLCNet arch must be one of {sorted(arch_settings)} or a table of stages, got {arch!r}')
        arch = arch_settings[arch]
    return check_table('PPLCNet', arch)
