"""Turn a PP-LCNet weight file of another implementation into an lcnet-mm checkpoint.

A classifier (PaddleClas, timm) becomes ``{'state_dict': {'backbone.*': ..., 'head.*': ...}, 'meta': {...}}``:
``load_from`` for a classification config, or ``init_cfg=dict(type='Pretrained', checkpoint=...,
prefix='backbone.')`` for a detection backbone. A PaddleDetection PicoDet becomes a detector checkpoint
(``backbone.*``, ``neck.*``, ``bbox_head.*``), ``load_from`` for a PicoDet config. Everything is checked against
the model lcnet-mm builds for what the file holds.
"""

from pathlib import Path
from typing import Dict, Tuple

import torch

from lcnet_mm.io import load_weight_file, shape_mismatches
from lcnet_mm.models.backbones.pp_lcnet import PPLCNet
from lcnet_mm.models.backbones.pp_lcnet_v2 import PPLCNetV2
from lcnet_mm.models.layers import make_divisible
from .paddle_lcnet import paddle_to_lcnet_mm
from .paddle_lcnet_v2 import MARKER as PADDLE_V2_MARKER
from .paddle_lcnet_v2 import describe_lcnet_v2, paddle_v2_to_lcnet_mm
from .paddle_picodet import is_picodet, paddle_picodet_to_lcnet_mm, picodet_model_config, picodet_shapes
from .timm_lcnet import timm_to_lcnet_mm

FORMATS = {
    'timm': ('conv_stem.weight', timm_to_lcnet_mm),
    'paddle': ('conv1.conv.weight', paddle_to_lcnet_mm),
    'paddle_v2': (PADDLE_V2_MARKER, paddle_v2_to_lcnet_mm),
    'lcnet_mm': ('backbone.stem.conv.weight', dict),
}


def _unwrap(content, source: str) -> Dict:
    if not isinstance(content, dict):
        raise ValueError(f'{source}: expected a dict of tensors, got {type(content).__name__}')
    for wrapper in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(content.get(wrapper), dict):
            return content[wrapper]
    return content


def detect_format(state_dict: Dict, source: str) -> str:
    for name, (marker, _) in FORMATS.items():
        if marker in state_dict:
            return name
    sample = sorted(state_dict)[:5]
    raise ValueError(
        f'{source}: not a PP-LCNet state dict of a known layout (keys start {sample}); expected '
        f'timm (conv_stem.*), PaddleClas PP-LCNet (conv1.conv.*), PaddleClas PP-LCNetV2 (stem.0.conv.*) or '
        f'lcnet-mm (backbone.stem.*) keys'
    )


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


def expected_shapes(backbone, state_dict: Dict, head_act: str = 'HSwish') -> Dict[str, torch.Size]:
    """Shapes of the lcnet-mm classifier that the weights describe: ``backbone``, and the head if present."""
    shapes = {f'backbone.{k}': v.shape for k, v in backbone.state_dict().items()}
    if 'head.fc.weight' in state_dict:
        from lcnet_mm.models.heads import LCNetClsHead

        head = LCNetClsHead(
            num_classes=state_dict['head.fc.weight'].shape[0],
            in_channels=backbone.stage_channels[-1],
            with_head_conv='head.head_conv.conv.weight' in state_dict,
            head_conv_bias='head.head_conv.conv.bias' in state_dict,
            act_cfg=dict(type=head_act),
        )
        shapes.update({f'head.{k}': v.shape for k, v in head.state_dict().items()})
    return shapes


def is_lcnet_v2_checkpoint(state_dict: Dict) -> bool:
    """An lcnet-mm checkpoint of a PP-LCNetV2 (its stage 3 has the two-step pointwise conv)."""
    return any(k.startswith('backbone.stages.3.0.pointwise_conv.0.') for k in state_dict)


def check_state_dict(state_dict: Dict, shapes: Dict[str, torch.Size], source: str, what: str):
    missing = sorted(set(shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(shapes))
    mismatched = shape_mismatches(state_dict, shapes)
    problems = []
    if missing:
        problems.append(f'missing keys {missing[:8]}{" ..." if len(missing) > 8 else ""}')
    if unexpected:
        problems.append(f'unexpected keys {unexpected[:8]}{" ..." if len(unexpected) > 8 else ""}')
    if mismatched:
        problems.append(f'shape mismatches {mismatched[:8]}{" ..." if len(mismatched) > 8 else ""}')
    if problems:
        raise ValueError(f'{source} does not fit {what}: ' + '; '.join(problems))


def convert_weights(src, backbone_only: bool = False) -> Tuple[Dict, Dict]:
    """Load ``src`` safely, convert it, check it; returns ``(checkpoint, info)``."""
    source = str(src)
    content, kind = load_weight_file(src)
    state_dict = _unwrap(content, source)
    if is_picodet(state_dict):
        layout, (converted, scale, details) = 'paddle_picodet', _convert_picodet(state_dict, source)
    else:
        layout = detect_format(state_dict, source)
        converted, scale, details = _convert_classifier(state_dict, layout, source)
    info = dict(source=Path(source).name, file_kind=kind, layout=layout, scale=scale, **details)
    info['backbone_only'] = backbone_only
    if backbone_only:
        converted = {k: v for k, v in converted.items() if k.startswith('backbone.')}
    return dict(state_dict=converted, meta=dict(lcnet_mm_conversion=info)), info


def _convert_classifier(state_dict: Dict, layout: str, source: str) -> Tuple[Dict, float, Dict]:
    converted = FORMATS[layout][1](state_dict)
    num_classes = converted['head.fc.weight'].shape[0] if 'head.fc.weight' in converted else None
    if layout == 'paddle_v2' or (layout == 'lcnet_mm' and is_lcnet_v2_checkpoint(converted)):
        arch = describe_lcnet_v2(converted, source)
        backbone = PPLCNetV2(arch=dict(scale=arch['scale'], depths=arch['depths']))
        what = f'PP-LCNetV2 {arch["name"] or "of custom size"} (x{arch["scale"]:g}, depths {arch["depths"]})'
        check_state_dict(converted, expected_shapes(backbone, converted, head_act='ReLU'), source, what)
        return converted, arch['scale'], dict(num_classes=num_classes, lcnet_v2=arch)
    scale = detect_scale(converted, source)
    check_state_dict(converted, expected_shapes(PPLCNet(scale=scale), converted), source, f'PP-LCNet x{scale}')
    return converted, scale, dict(num_classes=num_classes)


def _convert_picodet(state_dict: Dict, source: str) -> Tuple[Dict, float, Dict]:
    converted, arch = paddle_picodet_to_lcnet_mm(state_dict, source)
    scale = detect_scale(converted, source)
    model_cfg = picodet_model_config(arch, scale)
    what = f'PicoDet v{arch["version"]} (PP-LCNet x{scale}, {arch["neck"]} {arch["neck_channels"]})'
    check_state_dict(converted, picodet_shapes(model_cfg), source, what)
    return converted, scale, dict(num_classes=arch['num_classes'], picodet=dict(arch, model=model_cfg))


def check_against_model(state_dict: Dict, model, source: str, what: str, whole_model: bool = False):
    """Raise if the converted backbone (or, with ``whole_model``, every tensor) does not fit ``model``
    (e.g. another width, another number of classes)."""
    if whole_model:
        check_state_dict(state_dict, {k: v.shape for k, v in model.state_dict().items()}, source, what)
        return
    shapes = {f'backbone.{k}': v.shape for k, v in model.backbone.state_dict().items()}
    backbone = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    check_state_dict(backbone, shapes, source, what)
