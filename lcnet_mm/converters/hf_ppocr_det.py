"""Hugging Face Transformers ``PPOCRV5MobileDetForObjectDetection`` (``model_type: pp_ocrv5_mobile_det``) ->
lcnet-mm's text detector (``backbone.*`` PPLCNetV3, ``neck.*`` RSEFPN, ``bbox_head.*`` DBHead).

Baidu publishes PP-OCRv5's mobile text detector in this layout (``PaddlePaddle/PP-OCRv5_mobile_det_safetensors``:
``config.json`` + ``model.safetensors``). Transformers keeps the backbone's 1x1 output convs outside the backbone
(``model.layer.*``); lcnet-mm keeps them in it (``backbone.projections.*``), as PaddleOCR does. Transformers'
head has the probability branch only (inference): the converted checkpoint has no threshold branch, which
fine-tuning initialises. PaddleOCR and Transformers build the activation's affine block in stride-2 convs too,
where it is never used; those tensors are dropped.
"""

import re
from typing import Dict, Optional, Tuple

from .checks import check_state_dict, text_detector_shapes
from .conversion import TORCH_NORM_NAMES, UnexpectedKeyError, conv_norm_key, convert_state_dict
from .hf_lcnet import read_config

MARKER = 'model.neck.insert_conv.0.in_conv.weight'
NETWORK = 'Transformers PP-OCRv5 mobile det'
_LAYER = {'convolution': 'conv', 'normalization': 'bn'}
_HEAD_LAYER = {'convolution': 'conv', 'norm': 'bn'}
_BLOCK = re.compile(r'^model\.backbone\.encoder\.blocks\.(\d+)\.layers\.(\d+)\.(.+)$')
_CONVS = {'depthwise_convolution': 'depthwise_conv', 'pointwise_convolution': 'pointwise_conv'}
_SE = re.compile(r'^squeeze_excitation_module\.convolutions\.([02])\.(weight|bias)$')
_NECK = re.compile(r'^model\.neck\.(insert_conv|input_conv)\.(\d+)\.(.+)$')
_NECK_SE = re.compile(r'^squeeze_excitation_block\.conv([12])\.(weight|bias)$')
_HEAD = {
    'head.conv_up.convolution.weight': 'bbox_head.probability.upsample1.weight',
    'head.conv_up.convolution.bias': 'bbox_head.probability.upsample1.bias',
    'head.conv_final.weight': 'bbox_head.probability.upsample2.weight',
    'head.conv_final.bias': 'bbox_head.probability.upsample2.bias',
}
# Fields of the Transformers configs that lcnet-mm's modules reproduce only at these values.
_FIXED = {'reduction': 4, 'interpolate_mode': 'nearest', 'kernel_list': [3, 2, 2]}
_FIXED_BACKBONE = {'model_type': 'pp_lcnet_v3', 'hidden_act': 'hardswish', 'divisor': 16, 'stem_channels': 16}


def _conv_norm_key(prefix: str, tail: str, key: str, layers: Dict[str, str] = _LAYER) -> str:
    return conv_norm_key(prefix, tail, key, NETWORK, layers=layers, norm_names=TORCH_NORM_NAMES)


def _rep_conv_key(prefix: str, rest: str, key: str) -> str:
    """A key inside one of Transformers' ``PPLCNetV3LearnableRepLayer`` -> lcnet-mm's ``LearnableRepConv``."""
    branch = re.fullmatch(r'conv_symmetric\.(\d+)\.(.+)', rest)
    if branch:
        return _conv_norm_key(f'{prefix}.branches.{branch[1]}', branch[2], key)
    if rest.startswith('conv_small_symmetric.'):
        return _conv_norm_key(f'{prefix}.branch_1x1', rest[len('conv_small_symmetric.') :], key)
    part, _, name = rest.rpartition('.')
    own = {'identity': 'identity', 'lab': 'affine', 'act.lab': 'act_affine'}.get(part)
    if own is not None and (name in TORCH_NORM_NAMES if own == 'identity' else name in ('scale', 'bias')):
        return f'{prefix}.{own}.{name}'
    raise UnexpectedKeyError(key, NETWORK)


def _se_key(prefix: str, squeeze: bool, tensor: str) -> str:
    return f'{prefix}.se.{"squeeze" if squeeze else "excite"}.conv.{tensor}'


def hf_key(key: str) -> str:
    """A Transformers PP-OCRv5 mobile det key -> lcnet-mm's."""
    if key.startswith('model.backbone.encoder.convolution.'):
        return _conv_norm_key('backbone.stem', key[len('model.backbone.encoder.convolution.') :], key)
    block = _BLOCK.match(key)
    if block:
        prefix, rest = f'backbone.stages.{block[1]}.{block[2]}', block[3]
        se = _SE.match(rest)
        if se:
            return _se_key(prefix, se[1] == '0', se[2])
        part, _, tail = rest.partition('.')
        if part in _CONVS:
            return _rep_conv_key(f'{prefix}.{_CONVS[part]}', tail, key)
    projection = re.fullmatch(r'model\.layer\.(\d+)\.(weight|bias)', key)
    if projection:
        return f'backbone.projections.{projection[1]}.{projection[2]}'
    neck = _NECK.match(key)
    if neck:
        prefix = f'neck.{"lateral_convs" if neck[1] == "insert_conv" else "output_convs"}.{neck[2]}'
        if neck[3] == 'in_conv.weight':
            return f'{prefix}.conv.weight'
        se = _NECK_SE.match(neck[3])
        if se:
            return _se_key(prefix, se[1] == '1', se[2])
    if key.startswith('head.conv_down.'):
        return _conv_norm_key('bbox_head.probability.conv', key[len('head.conv_down.') :], key, _HEAD_LAYER)
    if key.startswith('head.conv_up.norm.'):
        name = key[len('head.conv_up.norm.') :]
        if name in TORCH_NORM_NAMES:
            return f'bbox_head.probability.norm1.{name}'
    if key in _HEAD:
        return _HEAD[key]
    raise UnexpectedKeyError(key, NETWORK)


def describe(config: Optional[Dict], source: str) -> Dict:
    """The lcnet-mm arguments of what a Transformers ``PPOCRV5MobileDetConfig`` describes: ``backbone``
    (``PPLCNetV3``), ``neck`` (``RSEFPN``), ``head`` (``DBHead``). Raises ValueError naming a field lcnet-mm's
    modules cannot express."""
    config = dict(config or {})
    where = f'{source} (config.json)'
    if config.get('model_type', 'pp_ocrv5_mobile_det') != 'pp_ocrv5_mobile_det':
        raise ValueError(f'{where}: model_type={config["model_type"]!r}; this layout is pp_ocrv5_mobile_det')
    backbone = dict(config.get('backbone_config') or {})
    for fixed, section in ((_FIXED, config), (_FIXED_BACKBONE, backbone)):
        for field, value in fixed.items():
            given = section.get(field, value)
            if (list(given) if isinstance(given, (list, tuple)) else given) != value:
                raise ValueError(f'{where}: {field}={given!r} is not supported; lcnet-mm builds {field}={value!r}')
    if backbone.get('block_configs') not in (None, _hf_table()):
        raise ValueError(f"{where}: backbone_config.block_configs is not PP-LCNetV3's det table")
    scale = float(backbone.get('scale', 0.75))
    projections = [int(c) for c in config.get('layer_list_out_channels', (12, 18, 42, 360))]
    return dict(
        backbone=dict(
            arch='det',
            scale=scale,
            conv_kxk_num=int(backbone.get('conv_symmetric_num', 4)),
            projection_channels=projections,
        ),
        neck=dict(in_channels=projections, out_channels=int(config.get('neck_out_channels', 96))),
    )


def _hf_table() -> list:
    """PP-LCNetV3's det table as Transformers' ``block_configs`` writes it: [kernel, in, out, stride, SE]."""
    from lcnet_mm.models.backbones.pp_lcnet_v3 import PP_LCNET_V3_DET

    rows, channels = [], 16
    for stage in PP_LCNET_V3_DET:
        rows.append([])
        for row in stage:
            rows[-1].append([row.kernel_size, channels, row.out_channels, row.stride, row.use_se])
            channels = row.out_channels
    return rows


def convert(state_dict: Dict, source: str, path) -> Tuple[Dict, float, Dict]:
    config = read_config(path)
    described = describe(config, source)
    converted = convert_state_dict(state_dict, hf_key)
    shapes = text_detector_shapes(described['backbone'], described['neck'])
    # the affine of an activation a stride-2 conv does not have (see the module docstring)
    converted = {k: v for k, v in converted.items() if k in shapes or '.act_affine.' not in k}
    threshold = {k: v for k, v in shapes.items() if k.startswith('bbox_head.threshold.')}
    backbone = described['backbone']
    what = f'PP-LCNetV3 x{backbone["scale"]:g} det + RSEFPN {described["neck"]["out_channels"]} + DB head'
    check_state_dict(converted, {k: v for k, v in shapes.items() if k not in threshold}, source, what)
    details = dict(
        config_json=config is not None,
        task='text_detection',
        network=what,
        backbone=backbone,
        neck=described['neck'],
        missing_for_training=['bbox_head.threshold'],  # the threshold map's branch, a training signal only
        class_names=['text'],  # for mmdet's inferencer and visualiser
    )
    return converted, backbone['scale'], details


def matches(state_dict) -> bool:
    return MARKER in state_dict
