"""Explicit widths: every channel count of a PP-LCNet network named, as a backbone argument.

A pruned PP-LCNet is the same table of blocks with other widths. ``widths`` names them (the stem's, each block's
output, its squeeze-excitation width and its split-pointwise middle width), so that a pruned model is a config plus a
checkpoint that loads into it strictly. :func:`widths_of` reads them off a built network (what a pruning tool writes
into its config); :func:`check_widths` checks them against the table when the backbone is built.
"""

from typing import List, NamedTuple, Optional, Tuple

import torch.nn as nn

from lcnet_mm.utils import check_int, is_int


class BlockWidths(NamedTuple):
    """The widths of one block: its output channels, and where the block has them, its SE's squeeze width
    (None: ``channels // ratio``) and its split pointwise conv's middle width (None: half the output)."""

    out: int
    se: Optional[int] = None
    mid: Optional[int] = None


WIDTHS_HELP = (
    'dict(stem=<int>, blocks=<one list per stage, one entry per block: its output channels, or dict(out=<int>, '
    'se=<int>, mid=<int>) with the squeeze width of its SE and the middle width of its split pointwise conv>); '
    'stem may be left out (the scaled stem width)'
)
GROUP_NORMS = ('GN', 'GroupNorm')


def _shape(blocks) -> str:
    if isinstance(blocks, (list, tuple)):
        return repr([len(stage) if isinstance(stage, (list, tuple)) else stage for stage in blocks])
    return repr(blocks)


def check_widths(name: str, widths, table, norm_cfg: Optional[dict] = None) -> Tuple[Optional[int], List[list]]:
    """(stem width or None, per stage per block :class:`BlockWidths`) of ``widths``, checked against ``table``
    (the backbone's stages of BlockRows) and against the groups of a group norm in ``norm_cfg``."""
    if not isinstance(widths, dict) or 'blocks' not in widths or set(widths) - {'stem', 'blocks'}:
        raise ValueError(f'{name} widths must be {WIDTHS_HELP}; got {widths!r}')
    stem = widths.get('stem')
    if stem is not None:
        check_int(stem, f'{name} widths.stem', minimum=1)
    blocks, shape = widths['blocks'], [len(stage) for stage in table]
    if (
        not isinstance(blocks, (list, tuple))
        or len(blocks) != len(table)
        or any(not isinstance(stage, (list, tuple)) or len(stage) != n for stage, n in zip(blocks, shape))
    ):
        raise ValueError(
            f'{name} widths.blocks must have the shape of the arch, {len(table)} stages of {shape} blocks; '
            f'got {_shape(blocks)} blocks'
        )
    resolved = []
    for i, (rows, entries) in enumerate(zip(table, blocks)):
        stage = []
        for j, (row, entry) in enumerate(zip(rows, entries)):
            where = f'{name} widths.blocks[{i}][{j}]'
            entry = dict(out=entry) if is_int(entry) else entry
            if not isinstance(entry, dict) or 'out' not in entry or set(entry) - set(BlockWidths._fields):
                raise ValueError(f'{where} is {entry!r}: an int (output channels) or dict(out=..., se=..., mid=...)')
            if 'se' in entry and not row.use_se:
                raise ValueError(f'{where} names an SE width ({entry["se"]!r}), but the block has no SE')
            if 'mid' in entry and not row.split_pointwise:
                raise ValueError(f'{where} names a middle width ({entry["mid"]!r}), but its pointwise conv is one')
            for key, value in entry.items():
                check_int(value, f'{where}.{key}', minimum=1)
            stage.append(BlockWidths(**entry))
        resolved.append(stage)
    _check_norm_groups(name, stem, resolved, norm_cfg)
    return stem, resolved


def _check_norm_groups(name: str, stem, blocks, norm_cfg) -> None:
    """Every normalised width must split into the groups of a group norm (the SE squeeze has no norm)."""
    if not isinstance(norm_cfg, dict) or norm_cfg.get('type') not in GROUP_NORMS:
        return
    groups = norm_cfg.get('num_groups')
    named = [('widths.stem', stem)] + [
        (f'widths.blocks[{i}][{j}].{key}', getattr(block, key))
        for i, stage in enumerate(blocks)
        for j, block in enumerate(stage)
        for key in ('out', 'mid')
    ]
    for where, width in named:
        if width is not None and is_int(groups) and width % groups:
            raise ValueError(
                f'{name} {where}={width} does not divide into the {groups} groups of norm_cfg {norm_cfg!r}: '
                f'give a multiple of {groups}'
            )


def stage_out_channels(widths: dict) -> List[int]:
    """The output width of every stage (its last block's) of a ``widths`` argument."""
    return [last if is_int(last) else last['out'] for last in (stage[-1] for stage in widths['blocks'])]


def widths_of(backbone: nn.Module) -> dict:
    """The ``widths`` argument that builds ``backbone`` (a :class:`StagedBackbone`, e.g. one pruned in memory)
    with the channel counts it has now."""
    blocks = []
    for stage in backbone.stages:
        entries = []
        for block in stage:
            pointwise = block.pointwise_conv
            split = isinstance(pointwise, nn.Sequential)
            widths = dict(out=(pointwise[-1] if split else pointwise).conv.out_channels)
            if block.se is not None:
                widths['se'] = block.se.squeeze.conv.out_channels
            if split:
                widths['mid'] = pointwise[0].conv.out_channels
            entries.append(widths['out'] if len(widths) == 1 else widths)
        blocks.append(entries)
    return dict(stem=backbone.stem.conv.out_channels, blocks=blocks)
