"""What every PP-LCNet generation shares as an OpenMMLab backbone: an architecture table of BlockRows,
a stem, then stages of :class:`DepthwiseSeparable` blocks built from the table (one loop for all generations),
whose outputs are returned by ``out_indices``, with ``frozen_stages``, ``norm_eval``, an inference form
(``deploy``) and argument checks that name the bad value and what is allowed."""

import math
from typing import List, NamedTuple, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.io import (
    CheckpointMismatchError,
    is_download,
    local_schemes,
    refuse_foreign_checkpoint,
    refuse_key_mismatches,
    refuse_shape_mismatches,
)
from lcnet_mm.utils import check_positive_number, check_stride, is_int, is_stride
from ..layers import DepthwiseSeparable, FoldsNormsForDeploy, deploy_layer_cfg, make_divisible
from .widths import BlockWidths, check_widths


class BlockRow(NamedTuple):
    """One block of an architecture table (widths at scale 1.0). The V2 options default off: a PP-LCNet row
    is ``BlockRow(kernel_size, out_channels, stride, use_se)``."""

    kernel_size: int
    out_channels: int
    stride: int
    use_se: bool = False
    rep_depthwise: bool = False  # a re-parameterisable depthwise conv (RepDepthwiseConv)
    split_pointwise: bool = False  # two 1x1 convs, in -> out/2 -> out
    shortcut: bool = False  # input added to the output (where the block keeps its width at stride 1)


ROW_HELP = (
    'each block must be [kernel_size (odd int > 0), out_channels (int > 0), stride (1 or 2), use_se (bool)] '
    'and optionally rep_depthwise, split_pointwise, shortcut (bools)'
)


def check_table(name: str, table) -> List[List[BlockRow]]:
    """An architecture table (a non-empty list of stages, each a non-empty list of rows: BlockRows or
    lists of their fields in order) as BlockRows, every field checked."""
    if not isinstance(table, (list, tuple)) or len(table) == 0:
        raise ValueError(f'{name} arch must be a non-empty list of stages, got {table!r}')
    checked = []
    for i, stage in enumerate(table):
        if not isinstance(stage, (list, tuple)) or len(stage) == 0:
            raise ValueError(f'{name} arch stage {i} must be a non-empty list of blocks, got {stage!r}')
        rows = []
        for j, block in enumerate(stage):
            ok = isinstance(block, (list, tuple)) and 4 <= len(block) <= len(BlockRow._fields)
            if ok:
                row = BlockRow(*block)
                ok = (
                    is_int(row.kernel_size)
                    and row.kernel_size > 0
                    and row.kernel_size % 2 == 1
                    and is_int(row.out_channels)
                    and row.out_channels > 0
                    and is_stride(row.stride)
                    and all(isinstance(flag, bool) for flag in row[3:])
                )
            if not ok:
                raise ValueError(f'{name} arch stage {i} block {j} is {block!r}: {ROW_HELP}')
            rows.append(row)
        checked.append(rows)
    return checked


# PaddleClas's initialisation: Kaiming-normal (fan-in) convs, norm weight 1 and bias 0.
PADDLE_INIT_CFG = (
    dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='normal'),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
)


class StagedBackbone(FoldsNormsForDeploy, BaseModule):
    """Base of :class:`PPLCNet` and :class:`PPLCNetV2`. A subclass sets ``self.scale``, calls
    :meth:`_check_contract`, then :meth:`_make_network` with its table: the stem and every stage come out of
    that one loop, each block from :meth:`build_block`."""

    # For the error raised on a checkpoint whose tensors have other shapes.
    mismatch_hint = 'A checkpoint of another width (scale or widths) or arch?'
    foreign_hint = (
        'A checkpoint of another network? Give one of this backbone (tools/convert_weights.py, or paddle://, '
        'timm://, hf:// paths); an mmseg config that names an ImageNet ResNet in model.pretrained needs '
        'model.pretrained=None.'
    )

    def __init__(self, init_cfg=PADDLE_INIT_CFG, pretrained=None):
        # ``pretrained``: what mmseg's segmentors pass to their backbone (``model.pretrained`` of every
        # ResNet-based mmseg config), taken as mmseg's own backbones take it: a Pretrained init_cfg.
        if pretrained is not None:
            name = type(self).__name__
            if not isinstance(pretrained, str):
                raise TypeError(f'{name} pretrained must be a checkpoint path or None, got {pretrained!r}')
            if is_download(pretrained):
                # open-mmlab://resnet50_v1c and the like: another network's weights, and a download
                raise ValueError(
                    f'{name} pretrained={pretrained!r} names weights to download, not {name} weights (an mmseg '
                    'config left its ImageNet ResNet in model.pretrained?): set model.pretrained=None, or give a '
                    f'{name} checkpoint: a local file or a {", ".join(local_schemes())} path'
                )
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)

    def _check_contract(self, num_stages: int, out_indices, frozen_stages, norm_eval: bool, deploy: bool):
        name = type(self).__name__
        self.out_indices = check_out_indices(name, out_indices, num_stages)
        self.frozen_stages = check_frozen_stages(name, frozen_stages, num_stages)
        self.norm_eval = norm_eval
        self.deploy = deploy

    def _build_stem(self, in_channels: int, channels: int, stride, conv_cfg, norm_cfg, act_cfg) -> ConvModule:
        """The 3x3 conv + norm + act both generations start with, stride 2 unless a task model's strides say
        otherwise (norm folded when ``deploy``)."""
        return ConvModule(
            in_channels,
            channels,
            3,
            stride=stride,
            padding=1,
            conv_cfg=conv_cfg,
            act_cfg=act_cfg,
            **deploy_layer_cfg(self.deploy, norm_cfg),
        )

    def _make_network(
        self,
        table: List[List[BlockRow]],
        in_channels: int,
        stem_channels: int,
        output_stride=None,
        strides=None,
        widths=None,
        **block_cfg,
    ):
        """The stem and the stages of ``table`` (every width ``make_divisible(c * self.scale)``, or as ``widths``
        name them), then ``out_channels`` and the freezing. ``strides`` (stem, then each stage's first block),
        ``output_stride`` and ``widths`` are the constructor arguments of those names; ``block_cfg`` goes to
        :meth:`build_block`."""
        name = type(self).__name__
        self.widths = widths
        explicit_stem, explicit = None, None
        if widths is not None:
            explicit_stem, explicit = check_widths(name, widths, table, block_cfg.get('norm_cfg'))
        stem_stride, own_strides = override_strides(name, table, strides)
        if isinstance(stem_stride, tuple) or any(isinstance(s, tuple) for stage in own_strides for s in stage):
            if output_stride is not None:
                raise ValueError(
                    f'{name} output_stride must be None with (h, w) strides, got output_stride={output_stride!r} '
                    f'and strides={strides!r}'
                )
            run_strides = [[(stride, 1) for stride in stage] for stage in own_strides]
            every = [stem_stride] + [s for stage in own_strides for s in stage]
            self.output_stride = tuple(math.prod(_pair(s)[axis] for s in every) for axis in (0, 1))
        else:
            run_strides, self.output_stride = strides_and_dilations(name, own_strides, output_stride, stem_stride)

        channels = self.width(stem_channels) if explicit_stem is None else explicit_stem
        layer_cfg = {key: block_cfg.get(key) for key in ('conv_cfg', 'norm_cfg', 'act_cfg')}
        self.stem = self._build_stem(in_channels, channels, stem_stride, **layer_cfg)
        stages, self.stage_channels = [], []
        for i, (rows, stage_own, stage_run) in enumerate(zip(table, own_strides, run_strides)):
            blocks = []
            for j, (row, own_stride, (stride, dilation)) in enumerate(zip(rows, stage_own, stage_run)):
                sizes = explicit[i][j] if explicit else BlockWidths(self.width(row.out_channels))
                if explicit and row.shortcut and own_stride == 1 and sizes.out != channels:
                    raise ValueError(
                        f'{name} widths.blocks[{i}][{j}] is {sizes.out}, but the block adds its input to its output '
                        f"(shortcut): its width must be its input's, {channels}"
                    )
                blocks.append(
                    self.build_block(channels, sizes.out, row, stride, dilation, own_stride, sizes, **block_cfg)
                )
                channels = sizes.out
            stages.append(blocks)
            self.stage_channels.append(channels)
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in stages)
        self.out_channels = tuple(self.stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    def width(self, channels: int) -> int:
        return make_divisible(channels * self.scale)

    def build_block(
        self,
        in_channels: int,
        out_channels: int,
        row: BlockRow,
        stride,
        dilation: int,
        own_stride,
        sizes: BlockWidths = None,
        se_cfg=None,
        conv_cfg=None,
        norm_cfg=None,
        act_cfg=None,
        with_cp=False,
    ) -> nn.Module:
        """One block of ``row``: run at ``stride`` and ``dilation``; ``own_stride`` is its stride in the table
        (before ``output_stride`` traded it for dilation); ``sizes`` its explicit SE and middle widths, if any."""
        sizes = sizes or BlockWidths(out_channels)
        if row.use_se and sizes.se is not None:
            se_cfg = dict(se_cfg or {}, squeeze_channels=sizes.se)
        return DepthwiseSeparable(
            in_channels,
            out_channels,
            row.kernel_size,
            stride,
            dilation,
            se_cfg=se_cfg if row.use_se else None,
            rep_depthwise=row.rep_depthwise,
            split_pointwise=row.split_pointwise,
            mid_channels=sizes.mid,
            # By the table's stride, not the dilated one: a block has the same parameters and computes the same
            # function at every output stride.
            shortcut=row.shortcut and own_stride == 1 and in_channels == out_channels,
            own_stride=own_stride,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp,
            deploy=self.deploy,
        )

    def describe(self) -> str:
        """The model as named in errors, e.g. ``PPLCNet(scale=1.0)``."""
        return f'{type(self).__name__}(scale={self.scale}{self._widths_said()})'

    def _widths_said(self) -> str:
        return '' if getattr(self, 'widths', None) is None else ', explicit widths'

    def forward(self, x: torch.Tensor) -> tuple:
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A checkpoint of another width: mmengine would only warn about tensors of other shapes. (A checkpoint
        # of the other form, BN-folded or not, is refused by FoldsNormsForDeploy.)
        refuse_foreign_checkpoint(self, state_dict, prefix, self.describe(), self.foreign_hint)
        refuse_shape_mismatches(self, state_dict, prefix, self.describe(), self.mismatch_hint)
        # after the norm-folding check, which names the form (deploy=True) a folded checkpoint needs
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        refuse_key_mismatches(self, state_dict, prefix, self.describe(), self.mismatch_hint)

    def init_weights(self):
        # mmcv's ConvModule re-initialises its own conv (Kaiming fan-out) after init_cfg has run, but only
        # where it is a direct child: keep init_cfg authoritative for the stem as for every block.
        if self.init_cfg:
            self.stem.is_init = True
        try:
            super().init_weights()
        except CheckpointMismatchError as error:  # a Pretrained init_cfg: its file is known here
            raise error.with_source(_pretrained_checkpoint(self.init_cfg)) from None

    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        for module in [self.stem, *self.stages[: self.frozen_stages + 1]]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def _pretrained_checkpoint(init_cfg):
    """The checkpoint of a ``Pretrained`` init_cfg (a dict or a list of them), or None."""
    for cfg in init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg.get('checkpoint')
    return None


def check_scale(name: str, scale, published: Sequence[float]) -> float:
    return check_positive_number(scale, f'{name} scale', f'published: {tuple(published)}')


def _pair(stride) -> tuple:
    return stride if isinstance(stride, tuple) else (stride, stride)


def override_strides(name: str, table: List[List[BlockRow]], strides) -> tuple:
    """(stem stride, per stage per block strides): the table's own, with ``strides`` (stem, then each stage's
    first block) put in. An (h, w) pair with equal halves becomes an int."""
    own = [[row.stride for row in stage] for stage in table]
    if strides is None:
        return 2, own
    allowed = (
        f'a sequence of {1 + len(table)} strides (the stem, then the first block of each stage), each 1, 2 or an '
        '(h, w) pair of them'
    )
    if not isinstance(strides, (list, tuple)) or len(strides) != 1 + len(table):
        raise ValueError(f'{name} strides must be {allowed}, got {strides!r}')
    if not all(is_stride(s, allow_pair=True) for s in strides):
        bad = next(i for i, s in enumerate(strides) if not is_stride(s, allow_pair=True))
        raise ValueError(f'{name} strides[{bad}] is {strides[bad]!r}: strides must be {allowed}')
    stem, *firsts = [check_stride(s, f'{name} strides', allow_pair=True) for s in strides]
    return stem, [[first, *stage[1:]] for first, stage in zip(firsts, own)]


def strides_and_dilations(name: str, stage_strides: list, output_stride, stem_stride: int = 2) -> tuple:
    """Per stage, per block: (stride, dilation) for ``output_stride``, given the blocks' own strides
    (``stage_strides[i][j]``) after the stem's; and the output stride reached.

    A stride-2 block that would take the map past ``output_stride`` runs at stride 1 with the dilation
    so far; the blocks after it dilate by the stride given up (DeepLab's convention)."""
    natural = stem_stride
    reachable = []  # output strides the arch can be cut at: the stride after each stage
    for strides in stage_strides:
        natural *= math.prod(strides)
        reachable.append(natural)
    allowed = sorted({s for s in reachable if s >= 8} | {natural})
    if output_stride is None:
        output_stride = natural
    if not is_int(output_stride) or output_stride not in allowed:
        raise ValueError(
            f"{name} output_stride must be one of {allowed} (None: {natural}, the arch's own), got {output_stride!r}"
        )
    current, dilation, table = stem_stride, 1, []
    for strides in stage_strides:
        rows = []
        for stride in strides:
            if stride > 1 and current * stride > output_stride:
                rows.append((1, dilation))
                dilation *= stride
            else:
                current *= stride
                rows.append((stride, dilation))
        table.append(rows)
    return table, current


def check_out_indices(name: str, out_indices, num_stages: int) -> tuple:
    allowed = f'stage indices in [{-num_stages}, {num_stages - 1}]'
    if isinstance(out_indices, int) and not isinstance(out_indices, bool):
        out_indices = (out_indices,)
    if not isinstance(out_indices, Sequence) or isinstance(out_indices, str) or len(out_indices) == 0:
        raise TypeError(f'{name} out_indices must be a non-empty sequence of {allowed}, got {out_indices!r}')
    normalized = []
    for index in out_indices:
        if not is_int(index):
            raise TypeError(f'{name} out_indices must contain ints ({allowed}), got {index!r} in {out_indices!r}')
        if not -num_stages <= index < num_stages:
            raise ValueError(f'{name} out_indices has {index}, out of range: allowed are {allowed}')
        normalized.append(index % num_stages)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f'{name} out_indices {tuple(out_indices)} names a stage twice')
    return tuple(sorted(normalized))


def check_frozen_stages(name: str, frozen_stages, num_stages: int) -> int:
    if not is_int(frozen_stages):
        raise TypeError(f'{name} frozen_stages must be an int in [-1, {num_stages - 1}], got {frozen_stages!r}')
    if not -1 <= frozen_stages < num_stages:
        raise ValueError(
            f'{name} frozen_stages must be in [-1, {num_stages - 1}] (-1: nothing frozen), got {frozen_stages}'
        )
    return frozen_stages
