"""What every layout's conversion ends with: the converted tensors checked, key by key and shape by shape,
against the model lcnet-mm builds for what the file describes."""

from typing import Dict, Optional, Tuple

import torch

from lcnet_mm.io import shape_mismatches
from lcnet_mm.models.backbones.pp_lcnet import PPLCNet
from lcnet_mm.models.backbones.pp_lcnet_v2 import PPLCNetV2
from lcnet_mm.models.layers import make_divisible


def detect_scale(state_dict: Dict, source: str) -> float:
    """The published width whose stem and last-stage channels match the converted weights."""
    stem = state_dict['backbone.stem.conv.weight'].shape[0]
    last_key = max(
        (k for k in state_dict if k.startswith('backbone.stages.') and k.endswith('pointwise_conv.conv.weight')),
        key=lambda k: tuple(int(p) for p in k.split('.')[2:4]),
    )
    last = state_dict[last_key].shape[0]
    for scale in PPLCNet.published_scales:
        if make_divisible(16 * scale) == stem and make_divisible(512 * scale) == last:
            return scale
    raise ValueError(
        f'{source}: stem width {stem} and last-stage width {last} match no published PP-LCNet '
        f'width {PPLCNet.published_scales}'
    )


def classifier_shapes(backbone, state_dict: Dict, head_act: str = 'HSwish', head_channels: int = 1280) -> Dict:
    """Shapes of the lcnet-mm classifier that the weights describe: ``backbone``, and the head if present."""
    shapes = {f'backbone.{k}': v.shape for k, v in backbone.state_dict().items()}
    if 'head.fc.weight' in state_dict:
        from lcnet_mm.models.heads import LCNetClsHead

        head = LCNetClsHead(
            num_classes=state_dict['head.fc.weight'].shape[0],
            in_channels=backbone.stage_channels[-1],
            head_channels=head_channels,
            with_head_conv='head.head_conv.conv.weight' in state_dict,
            head_conv_bias='head.head_conv.conv.bias' in state_dict,
            act_cfg=dict(type=head_act),
        )
        shapes.update({f'head.{k}': v.shape for k, v in head.state_dict().items()})
    return shapes


class StateDictMismatchError(ValueError):
    """Converted tensors that do not fit a model; ``missing`` / ``unexpected`` / ``mismatched`` name them."""

    def __init__(self, message: str, missing, unexpected, mismatched):
        super().__init__(message)
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched


def check_state_dict(state_dict: Dict, shapes: Dict[str, torch.Size], source: str, what: str):
    missing = sorted(set(shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(shapes))
    mismatched = sorted(k for k in set(state_dict) & set(shapes) if tuple(state_dict[k].shape) != tuple(shapes[k]))
    described = shape_mismatches(state_dict, shapes)
    problems = []
    if missing:
        problems.append(f'missing keys {missing[:8]}{" ..." if len(missing) > 8 else ""}')
    if unexpected:
        problems.append(f'unexpected keys {unexpected[:8]}{" ..." if len(unexpected) > 8 else ""}')
    if described:
        problems.append(f'shape mismatches {described[:8]}{" ..." if len(described) > 8 else ""}')
    if problems:
        message = f'{source} does not fit {what}: ' + '; '.join(problems)
        raise StateDictMismatchError(message, missing, unexpected, mismatched)


def checked_lcnet(converted: Dict, source: str, backbone: Optional[Dict] = None, head: Optional[Dict] = None) -> Tuple:
    """A converted PP-LCNet classifier, checked: ``(state_dict, scale, details)``. ``backbone`` / ``head``:
    ``PPLCNet`` / ``LCNetClsHead`` arguments the file's own config gives (else the width is read from the
    tensors)."""
    backbone = dict(backbone or {})
    scale = backbone.pop('scale', None) or detect_scale(converted, source)
    head_channels = (head or {}).get('head_channels', 1280)
    model = PPLCNet(scale=scale, **backbone)
    check_state_dict(
        converted, classifier_shapes(model, converted, head_channels=head_channels), source, f'PP-LCNet x{scale}'
    )
    return converted, scale, dict(num_classes=_num_classes(converted))


def checked_lcnet_v2(converted: Dict, source: str) -> Tuple:
    """A converted PP-LCNetV2 classifier, checked: ``(state_dict, scale, details)``."""
    arch = describe_lcnet_v2(converted, source)
    backbone = PPLCNetV2(arch=dict(scale=arch['scale'], depths=arch['depths']))
    what = f'PP-LCNetV2 {arch["name"] or "of custom size"} (x{arch["scale"]:g}, depths {arch["depths"]})'
    check_state_dict(converted, classifier_shapes(backbone, converted, head_act='ReLU'), source, what)
    return converted, arch['scale'], dict(num_classes=_num_classes(converted), lcnet_v2=arch)


def _num_classes(converted: Dict) -> Optional[int]:
    return int(converted['head.fc.weight'].shape[0]) if 'head.fc.weight' in converted else None


def describe_lcnet_v2(converted: Dict, source: str) -> Dict:
    """``dict(scale, depths, name)`` of a converted PP-LCNetV2 (``name``: the published size, or None)."""
    depths = []
    for stage in range(len(PPLCNetV2.table)):
        blocks = {int(k.split('.')[3]) for k in converted if k.startswith(f'backbone.stages.{stage}.')}
        if blocks != set(range(len(blocks))) or not blocks:
            raise ValueError(f'{source}: PP-LCNetV2 stage {stage} has blocks {sorted(blocks)}, expected 0..n-1')
        depths.append(len(blocks))
    last_width = _pointwise_out_channels(converted, len(depths) - 1, depths[-1] - 1)
    scale = last_width / PPLCNetV2.table[-1].out_channels
    widths = [_pointwise_out_channels(converted, stage, 0) for stage in range(len(depths))]
    expected = [make_divisible(row.out_channels * scale) for row in PPLCNetV2.table]
    if widths != expected or converted['backbone.stem.conv.weight'].shape[0] != make_divisible(32 * scale):
        raise ValueError(f'{source}: PP-LCNetV2 stage widths {widths} fit no scale (x{scale:g} would give {expected})')
    name = next(
        (n for n, a in PPLCNetV2.arch_settings.items() if a['scale'] == scale and tuple(a['depths']) == tuple(depths)),
        None,
    )
    return dict(scale=float(scale), depths=depths, name=name)


def _pointwise_out_channels(converted: Dict, stage: int, block: int) -> int:
    prefix = f'backbone.stages.{stage}.{block}.pointwise_conv'
    key = f'{prefix}.conv.weight' if f'{prefix}.conv.weight' in converted else f'{prefix}.1.conv.weight'
    return int(converted[key].shape[0])


def text_detector_shapes(backbone: Dict, neck: Dict) -> Dict[str, torch.Size]:
    """Shapes of lcnet-mm's PP-OCR mobile text detector (``backbone.*`` PPLCNetV3, ``neck.*`` RSEFPN,
    ``bbox_head.*`` DBHead) for these ``PPLCNetV3`` and ``RSEFPN`` arguments."""
    from lcnet_mm.models.backbones.pp_lcnet_v3 import PPLCNetV3
    from lcnet_mm.models.dense_heads.db_head import DBHead
    from lcnet_mm.models.necks.rse_fpn import RSEFPN

    parts = dict(backbone=PPLCNetV3(**backbone), neck=RSEFPN(**neck), bbox_head=DBHead(neck['out_channels']))
    return {f'{name}.{k}': v.shape for name, part in parts.items() for k, v in part.state_dict().items()}


def check_against_model(state_dict: Dict, model, source: str, what: str, whole_model: bool = False):
    """Raise if the converted backbone (or, with ``whole_model``, every tensor) does not fit ``model``
    (e.g. another width, another number of classes)."""
    if whole_model:
        check_state_dict(state_dict, {k: v.shape for k, v in model.state_dict().items()}, source, what)
        return
    shapes = {f'backbone.{k}': v.shape for k, v in model.backbone.state_dict().items()}
    backbone = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    check_state_dict(backbone, shapes, source, what)
