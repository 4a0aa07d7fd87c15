"""PaddleDetection PicoDet ``.pdparams`` (v2 LCNet models, v1 LCNet models such as PP-Structure's layout
detectors) -> an mmdet ``SingleStageDetector`` with :class:`PPLCNet`, :class:`LCPAN` / :class:`CSPPAN` and
:class:`PicoHeadV2` / :class:`PicoHead`.

The architecture is read from the keys and shapes (v2 has the SE gates and the align branch; the neck's
width, the head's tower depth, the number of levels and classes come from the tensors), then every tensor
is renamed. Where the layouts differ:
- v1 predicts classes and box distributions with one conv per level; it is split into ``cls_preds`` and
  ``reg_preds`` (rows ``[:num_classes]`` and the rest).
- v2 stores its prediction convs twice (``head_cls0`` and ``head_cls_list.0`` are one parameter); the
  copies must agree and one is kept.
- GFLHead's unused ``p*_feat.scale_reg`` parameters are dropped; the fixed ``distribution_project`` bins
  are checked to be ``0..reg_max``.
"""

import re
from typing import Dict, Tuple

import numpy as np
import torch

from lcnet_mm.builder import build_module
from lcnet_mm.models import PPLCNet
from lcnet_mm.models.dense_heads.pico_head import ANCHOR_GENERATOR
from .checks import check_state_dict, detect_scale
from .conversion import UnexpectedKeyError, conv_norm_key, convert_state_dict
from .paddle_lcnet import lcnet_key

NETWORK = 'PaddleDetection PicoDet'
MARKER = 'head.conv_feat.cls_conv_dw0.0.conv.weight'  # every PicoDet with a PicoFeat head has it

# PaddleDetection's DPModule layers -> (which of its two convs, conv or norm)
_DP_MODULE = {'dwconv': (0, 'conv'), 'bn1': (0, 'bn'), 'pwconv': (1, 'conv'), 'bn2': (1, 'bn')}
_DROPPED = re.compile(r'^head\.(p\d+_feat\.scale_reg|head_(cls|reg)_list\.\d+\.(weight|bias))$')


def is_picodet(state_dict: Dict) -> bool:
    return MARKER in state_dict


def describe_picodet(state_dict: Dict, source: str) -> Dict:
    """The architecture of a PicoDet state dict (Paddle keys): version, neck, widths, depth, classes."""
    version = 2 if 'head.cls_align.0.dwconv.weight' in state_dict else 1
    num_levels = len([k for k in state_dict if re.fullmatch(r'head\.head_cls\d+\.weight', k)])
    stacked_convs = len([k for k in state_dict if re.fullmatch(r'head\.conv_feat\.cls_conv_dw0\.\d+\.conv\.weight', k)])
    project = state_dict.get('head.distribution_project.project')
    if project is None:
        raise ValueError(f'{source}: a PicoDet state dict without head.distribution_project.project (reg_max)')
    reg_max = int(np.asarray(project).shape[0]) - 1
    head_cls = np.asarray(state_dict['head.head_cls0.weight'])
    num_classes = head_cls.shape[0] - (4 * (reg_max + 1) if version == 1 else 0)
    if num_levels == 0 or stacked_convs == 0 or num_classes <= 0:
        raise ValueError(
            f'{source}: inconsistent PicoDet head ({num_levels} levels, {stacked_convs} convs, {num_classes} classes)'
        )
    return dict(
        version=version,
        neck='CSPPAN' if 'neck.top_down_blocks.0.main_conv.conv.weight' in state_dict else 'LCPAN',
        neck_channels=int(np.asarray(state_dict['neck.conv_t.convs.0.conv.weight']).shape[0]),
        num_neck_inputs=len([k for k in state_dict if re.fullmatch(r'neck\.conv_t\.convs\.\d+\.conv\.weight', k)]),
        num_levels=num_levels,
        stacked_convs=stacked_convs,
        reg_max=reg_max,
        num_classes=num_classes,
    )


def _rename_neck(key: str) -> str:
    rest = key[len('neck.') :]
    match = re.fullmatch(r'conv_t\.convs\.(\d+)\.(conv|bn)\.(.+)', rest)
    if match:
        return _conv_bn(f'neck.reduce_convs.{match[1]}', match[2], match[3], key)
    match = re.fullmatch(r'(first_top_conv|second_top_conv|downsamples\.\d+)\.(\w+)\.(.+)', rest)
    if match:
        module = {'first_top_conv': 'extra_input_downsample', 'second_top_conv': 'extra_output_downsample'}.get(
            match[1], match[1]
        )
        return _dp_module(f'neck.{module}', match[2], match[3], key)
    # LCPAN fusion blocks: PP-LCNet's DepthwiseSeparable (dw_conv / pw_conv)
    match = re.fullmatch(r'((?:top_down|bottom_up)_blocks\.\d+\.\d+)\.(dw_conv|pw_conv)\.(conv|bn)\.(.+)', rest)
    if match:
        part = 'depthwise_conv' if match[2] == 'dw_conv' else 'pointwise_conv'
        return _conv_bn(f'neck.{match[1]}.{part}', match[3], match[4], key)
    # CSPPAN fusion blocks
    match = re.fullmatch(
        r'((?:top_down|bottom_up)_blocks\.\d+)\.(main_conv|short_conv|final_conv)\.(conv|bn)\.(.+)', rest
    )
    if match:
        return _conv_bn(f'neck.{match[1]}.{match[2]}', match[3], match[4], key)
    match = re.fullmatch(r'((?:top_down|bottom_up)_blocks\.\d+)\.blocks\.(\d+)\.conv1\.(conv|bn)\.(.+)', rest)
    if match:
        return _conv_bn(f'neck.{match[1]}.blocks.{match[2]}.0', match[3], match[4], key)
    match = re.fullmatch(r'((?:top_down|bottom_up)_blocks\.\d+)\.blocks\.(\d+)\.conv2\.(\w+)\.(.+)', rest)
    if match:
        return _dp_module(f'neck.{match[1]}.blocks.{match[2]}.1', match[3], match[4], key)
    raise UnexpectedKeyError(key, f'{NETWORK} neck')


def _rename_head(key: str) -> str:
    rest = key[len('head.') :]
    match = re.fullmatch(r'conv_feat\.cls_conv_(dw|pw)(\d+)\.(\d+)\.(conv|norm)\.(.+)', rest)
    if match:
        part = 'depthwise_conv' if match[1] == 'dw' else 'pointwise_conv'
        return _conv_bn(f'head.towers.{match[2]}.{match[3]}.{part}', match[4], match[5], key)
    match = re.fullmatch(r'conv_feat\.se\.(\d+)\.fc\.(weight|bias)', rest)
    if match:
        return f'head.gates.{match[1]}.fc.{match[2]}'
    match = re.fullmatch(r'conv_feat\.se\.(\d+)\.conv\.(conv|norm)\.(.+)', rest)
    if match:
        return _conv_bn(f'head.gates.{match[1]}.conv', match[2], match[3], key)
    match = re.fullmatch(r'head_(cls|reg)(\d+)\.(weight|bias)', rest)
    if match:
        return f'head.{match[1]}_preds.{match[2]}.{match[3]}'
    if rest == 'distribution_project.project':  # the bins 0..reg_max of the DFL integral (a buffer)
        return 'head.integral.project'
    match = re.fullmatch(r'cls_align\.(\d+)\.(\w+)\.(.+)', rest)
    if match:  # a DPModule whose two convs are the two ConvModules of align_preds.N
        return _dp_module(f'head.align_preds.{match[1]}', match[2], match[3], key, convs=('0', '1'))
    raise UnexpectedKeyError(key, f'{NETWORK} head')


def _dp_module(prefix: str, layer: str, name: str, key: str, convs=('depthwise_conv', 'pointwise_conv')) -> str:
    """PaddleDetection's ``DPModule`` (dwconv, bn1, pwconv, bn2) -> two ConvModules, by default the two of a
    :class:`DepthwiseSeparable`."""
    if layer not in _DP_MODULE:
        raise UnexpectedKeyError(key, 'PaddleDetection DPModule')
    which, kind = _DP_MODULE[layer]
    return _conv_bn(f'{prefix}.{convs[which]}', kind, name, key)


def _conv_bn(prefix: str, layer: str, name: str, key: str) -> str:
    return conv_norm_key(prefix, f'{layer}.{name}', key, NETWORK)


def picodet_key(key: str) -> str:
    """A PaddleDetection PicoDet key -> lcnet-mm's detector key (``backbone.``, ``neck.``, ``bbox_head.``)."""
    if key.startswith('backbone.'):
        return lcnet_key(key[len('backbone.') :])
    if key.startswith('neck.'):
        return _rename_neck(key)
    if key.startswith('head.'):
        return 'bbox_' + _rename_head(key)
    raise UnexpectedKeyError(key, f'{NETWORK} (backbone., neck., head.)')


def paddle_picodet_to_lcnet_mm(state_dict: Dict, source: str = 'weights') -> Tuple[Dict[str, torch.Tensor], Dict]:
    """Rename a PaddleDetection PicoDet state dict (numpy arrays) to lcnet-mm's detector layout.

    Returns ``(state_dict, architecture)`` with the architecture of :func:`describe_picodet`."""
    arch = describe_picodet(state_dict, source)

    def transform(key: str, new_key: str, tensor: torch.Tensor) -> Dict[str, torch.Tensor]:
        if arch['version'] == 1 and re.fullmatch(r'bbox_head\.cls_preds\.\d+\.(weight|bias)', new_key):
            # v1: one conv predicts [classes, box distributions]
            return {
                new_key: tensor[: arch['num_classes']].clone(),
                new_key.replace('cls_preds', 'reg_preds'): tensor[arch['num_classes'] :].clone(),
            }
        if new_key == 'bbox_head.integral.project' and not torch.equal(tensor, torch.arange(arch['reg_max'] + 1.0)):
            raise ValueError(f'{source}: {key} is {tensor.tolist()}, expected the bins 0..{arch["reg_max"]}')
        return {new_key: tensor}

    def dropped(key: str) -> bool:
        if _DROPPED.match(key):
            _check_alias(state_dict, key, source)
            return True
        return False

    return convert_state_dict(state_dict, picodet_key, transform, skip=dropped), arch


def _check_alias(state_dict: Dict, key: str, source: str):
    """A dropped ``head_*_list`` entry must be the same parameter as the named one that is kept."""
    alias = re.fullmatch(r'head\.head_(cls|reg)_list\.(\d+)\.(weight|bias)', key)
    if alias:
        named = f'head.head_{alias[1]}{alias[2]}.{alias[3]}'
        if named not in state_dict or not np.array_equal(np.asarray(state_dict[named]), np.asarray(state_dict[key])):
            raise ValueError(f'{source}: {key} should be a copy of {named}, but they differ')


def picodet_model_config(arch: Dict, scale: float) -> Dict:
    """The lcnet-mm ``SingleStageDetector`` model config (backbone, neck, bbox_head) of a PicoDet state dict."""
    num_inputs = arch['num_neck_inputs']
    out_indices = tuple(range(5 - num_inputs, 5))  # PP-LCNet's last stages; stage i has stride 2 ** (i + 1)
    first_stride = 2 ** (out_indices[0] + 1)
    backbone = dict(type='PPLCNet', scale=scale, out_indices=out_indices)
    backbone_channels = list(PPLCNet(scale=scale, out_indices=out_indices).out_channels)
    head = dict(
        type='PicoHeadV2' if arch['version'] == 2 else 'PicoHead',
        num_classes=arch['num_classes'],
        in_channels=arch['neck_channels'],
        stacked_convs=arch['stacked_convs'],
        reg_max=arch['reg_max'],
        anchor_generator=dict(
            ANCHOR_GENERATOR, strides=[first_stride * 2**level for level in range(arch['num_levels'])]
        ),
    )
    neck = dict(
        type=arch['neck'],
        in_channels=backbone_channels,
        out_channels=arch['neck_channels'],
        num_outs=arch['num_levels'],
    )
    return dict(backbone=backbone, neck=neck, bbox_head=head)


def picodet_shapes(model_cfg: Dict) -> Dict[str, torch.Size]:
    """Shapes of the state dict of the detector ``model_cfg`` describes."""
    detector = build_module(dict(type='SingleStageDetector', **model_cfg), 'mmdet')
    return {
        k: v.shape for k, v in detector.state_dict().items() if k.split('.')[0] in ('backbone', 'neck', 'bbox_head')
    }


def _convert(state_dict: Dict, source: str, path) -> Tuple[Dict, float, Dict]:
    converted, arch = paddle_picodet_to_lcnet_mm(state_dict, source)
    scale = detect_scale(converted, source)
    model_cfg = picodet_model_config(arch, scale)
    what = f'PicoDet v{arch["version"]} (PP-LCNet x{scale}, {arch["neck"]} {arch["neck_channels"]})'
    check_state_dict(converted, picodet_shapes(model_cfg), source, what)
    return converted, scale, dict(num_classes=arch['num_classes'], picodet=dict(arch, model=model_cfg))


matches = is_picodet
convert = _convert
