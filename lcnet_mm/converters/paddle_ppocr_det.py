"""PaddleOCR PP-LCNetV3 text detector ``.pdparams`` (PP-OCRv4/v5 mobile det; ``backbone.*``, ``neck.*``,
``head.*``) and PP-LCNetV3 det backbones (``PPLCNetV3_x0_75_ocr_det.pdparams``: ``conv1.*``, ``blocks2..6.*``,
``layer_list.*``) -> lcnet-mm's text detector (``backbone.*`` PPLCNetV3, ``neck.*`` RSEFPN, ``bbox_head.*`` DBHead).

PaddleOCR's stages ``blocks2..6`` are lcnet-mm's stages 0-4, its output convs ``layer_list`` the backbone's
``projections``. A conv PaddleOCR has re-parameterised (``rep()``, what its inference export runs) holds
``reparam_conv`` instead of its branches: such a file converts to the deploy form (``deploy=True``). PaddleOCR
builds the activation's affine block in stride-2 convs too, where it is never used; those tensors are dropped.
"""

import re
from typing import Dict, Tuple

from .checks import check_state_dict, text_detector_shapes
from .conversion import PADDLE_NORM_NAMES, UnexpectedKeyError, conv_norm_key, convert_state_dict
from .paddle_lcnet import se_key

NETWORK = 'PaddleOCR PP-LCNetV3 text detector'
_DETECTOR_MARKER = 'neck.ins_conv.0.in_conv.weight'
_BACKBONE_MARKER = 'blocks2.0.dw_conv.lab.scale'
_BLOCK = re.compile(r'^blocks([2-6])\.(\d+)\.(dw_conv|pw_conv|se)\.(.+)$')
_NECK = re.compile(r'^neck\.(ins_conv|inp_conv)\.(\d+)\.(.+)$')
_HEAD = re.compile(r'^head\.(binarize|thresh)\.(.+)$')
_HEAD_LAYERS = {'conv2': 'upsample1', 'conv3': 'upsample2'}
# What a PaddleOCR recogniser's checkpoint has and a detector's has not.
_RECOGNISER_HEADS = ('head.ctc_encoder.', 'head.ctc_head.', 'head.gtc_head.', 'head.fc.')


def _rep_conv_key(prefix: str, rest: str, key: str) -> str:
    """A key inside PaddleOCR's ``LearnableRepLayer`` -> lcnet-mm's ``LearnableRepConv``."""
    branch = re.fullmatch(r'conv_kxk\.(\d+)\.(.+)', rest)
    if branch:
        return conv_norm_key(f'{prefix}.branches.{branch[1]}', branch[2], key, NETWORK)
    if rest.startswith('conv_1x1.'):
        return conv_norm_key(f'{prefix}.branch_1x1', rest[len('conv_1x1.') :], key, NETWORK)
    part, _, name = rest.rpartition('.')
    if part == 'identity' and name in PADDLE_NORM_NAMES:
        return f'{prefix}.identity.{PADDLE_NORM_NAMES[name]}'
    if part in ('lab', 'act.lab') and name in ('scale', 'bias'):
        return f'{prefix}.{"affine" if part == "lab" else "act_affine"}.{name}'
    if part == 'reparam_conv' and name in ('weight', 'bias'):
        return f'{prefix}.conv.{name}'
    raise UnexpectedKeyError(key, NETWORK)


def backbone_key(key: str, original: str) -> str:
    """A PaddleOCR PPLCNetV3 key (without ``backbone.``) -> lcnet-mm's."""
    if key.startswith('conv1.'):
        return conv_norm_key('backbone.stem', key[len('conv1.') :], original, NETWORK)
    projection = re.fullmatch(r'layer_list\.(\d+)\.(weight|bias)', key)
    if projection:
        return f'backbone.projections.{projection[1]}.{projection[2]}'
    block = _BLOCK.match(key)
    if block:
        prefix = f'backbone.stages.{int(block[1]) - 2}.{block[2]}'
        if block[3] == 'se':
            new = se_key(prefix, f'se.{block[4]}')
            if new:
                return new
        else:
            part = 'depthwise_conv' if block[3] == 'dw_conv' else 'pointwise_conv'
            return _rep_conv_key(f'{prefix}.{part}', block[4], original)
    raise UnexpectedKeyError(original, NETWORK)


def ppocr_key(key: str) -> str:
    """A PaddleOCR text detector (or PPLCNetV3 det backbone) key -> lcnet-mm's."""
    if not key.startswith(('neck.', 'head.')):
        return backbone_key(key[len('backbone.') :] if key.startswith('backbone.') else key, key)
    neck = _NECK.match(key)
    if neck:
        prefix = f'neck.{"lateral_convs" if neck[1] == "ins_conv" else "output_convs"}.{neck[2]}'
        if neck[3] == 'in_conv.weight':
            return f'{prefix}.conv.weight'
        se = re.fullmatch(r'se_block\.conv([12])\.(weight|bias)', neck[3])
        if se:
            return f'{prefix}.se.{"squeeze" if se[1] == "1" else "excite"}.conv.{se[2]}'
    head = _HEAD.match(key)
    if head:
        prefix = f'bbox_head.{"probability" if head[1] == "binarize" else "threshold"}'
        layer, _, name = head[2].partition('.')
        if layer in ('conv1', 'conv_bn1'):
            return conv_norm_key(f'{prefix}.conv', head[2], key, NETWORK, layers={'conv1': 'conv', 'conv_bn1': 'bn'})
        if layer == 'conv_bn2' and name in PADDLE_NORM_NAMES:
            return f'{prefix}.norm1.{PADDLE_NORM_NAMES[name]}'
        if layer in _HEAD_LAYERS and name in ('weight', 'bias'):
            return f'{prefix}.{_HEAD_LAYERS[layer]}.{name}'
    raise UnexpectedKeyError(key, NETWORK)


def describe(converted: Dict, source: str) -> Dict:
    """``PPLCNetV3`` and ``RSEFPN`` arguments of the converted tensors (``neck`` None for a backbone alone)."""
    projections = [
        int(converted[f'backbone.projections.{i}.weight'].shape[0])
        for i in range(4)
        if f'backbone.projections.{i}.weight' in converted
    ]
    if len(projections) != 4:
        raise ValueError(f'{source}: a PP-LCNetV3 det backbone has four layer_list convs, found {len(projections)}')
    scale = projections[3] / 480  # int(480 * scale): the widest output conv gives the scale back
    deploy = any(k.endswith('.conv.bias') and '.depthwise_conv.' in k for k in converted)
    backbone = dict(arch='det', scale=scale, projection_channels=projections)
    if deploy:
        backbone['deploy'] = True
    else:
        branches = {
            int(k.split('.')[6]) for k in converted if k.startswith('backbone.stages.0.0.depthwise_conv.branches.')
        }
        backbone['conv_kxk_num'] = len(branches)
    neck = None
    if 'neck.lateral_convs.0.conv.weight' in converted:
        neck = dict(in_channels=projections, out_channels=int(converted['neck.lateral_convs.0.conv.weight'].shape[0]))
    return dict(backbone=backbone, neck=neck)


def _fold_stem(converted: Dict) -> Dict:
    """PaddleOCR's ``rep()`` merges the re-parameterisable convs but keeps the stem's BN; lcnet-mm's deploy form
    has it folded (a conv with bias)."""
    converted = dict(converted)
    weight = converted.pop('backbone.stem.conv.weight').double()
    mean, var = converted.pop('backbone.stem.bn.running_mean').double(), converted.pop('backbone.stem.bn.running_var')
    gamma, beta = converted.pop('backbone.stem.bn.weight').double(), converted.pop('backbone.stem.bn.bias').double()
    converted.pop('backbone.stem.bn.num_batches_tracked', None)
    scale = gamma / (var.double() + 1e-5).sqrt()  # PaddleOCR's BatchNorm2D epsilon
    converted['backbone.stem.conv.weight'] = (weight * scale.view(-1, 1, 1, 1)).float()
    converted['backbone.stem.conv.bias'] = (beta - mean * scale).float()
    return converted


def convert(state_dict: Dict, source: str, path) -> Tuple[Dict, float, Dict]:
    recogniser = next((k for k in state_dict if k.startswith(_RECOGNISER_HEADS)), None)
    if recogniser is not None:
        raise ValueError(
            f'{source}: a PaddleOCR text recogniser checkpoint (it has {recogniser!r}); lcnet-mm converts the text '
            'detector (backbone, neck.ins_conv, head.binarize) or its PP-LCNetV3 det backbone'
        )
    converted = convert_state_dict(state_dict, ppocr_key)
    described = describe(converted, source)
    backbone, neck = described['backbone'], described['neck']
    if backbone.get('deploy'):
        converted = _fold_stem(converted)
    shapes = text_detector_shapes(backbone, neck or dict(in_channels=backbone['projection_channels'], out_channels=96))
    if neck is None:
        shapes = {k: v for k, v in shapes.items() if k.startswith('backbone.')}
    # the affine of an activation a stride-2 conv does not have (see the module docstring)
    converted = {k: v for k, v in converted.items() if k in shapes or '.act_affine.' not in k}
    form = ' (re-parameterised)' if backbone.get('deploy') else ''
    what = f'PP-LCNetV3 x{backbone["scale"]:g} det{form}' + (
        f' + RSEFPN {neck["out_channels"]} + DB head' if neck else ''
    )
    check_state_dict(converted, shapes, source, what)
    details = dict(task='text_detection', network=what, backbone=backbone, neck=neck)
    if neck:  # a whole detector: its one class, for mmdet's inferencer and visualiser
        details['class_names'] = ['text']
    return converted, backbone['scale'], details


def matches(state_dict) -> bool:
    return (
        _DETECTOR_MARKER in state_dict or _BACKBONE_MARKER in state_dict or 'backbone.' + _BACKBONE_MARKER in state_dict
    )
