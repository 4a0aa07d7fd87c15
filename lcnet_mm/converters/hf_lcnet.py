"""Hugging Face Transformers ``PPLCNetForImageClassification`` (``model_type: pp_lcnet``) -> lcnet-mm.

Baidu publishes PaddleOCR's PP-LCNet task models (document image orientation, text-line orientation, table
classification) in this layout: a folder with ``config.json`` and ``model.safetensors``, as ``save_pretrained``
or a hub download leaves it. ``config.json`` holds the architecture (``scale``, ``block_configs`` rows of
``[kernel, in, out, stride, use_se]`` at scale 1.0, ``stem_channels``, ``stem_stride``, ``class_expand``,
``id2label``); it is the network of :data:`PP_LCNET`, so each row is checked against that table, strides are
read into ``PPLCNet(strides=...)``, and anything else is refused with the field named. Given the safetensors
file alone, a ``config.json`` beside it is read; without one the published strides are assumed.

Transformers's classifier multiplies the pooled features by ``1 - hidden_dropout_prob`` at inference
(PaddleClas's ``downscale_in_infer`` dropout, where torch's dropout is the identity): the factor is folded into
``fc.weight``, as for PaddleClas's weights.
"""

import json
import re
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from lcnet_mm.models.backbones.pp_lcnet import PP_LCNET
from lcnet_mm.utils import is_int, is_stride
from .checks import checked_lcnet
from .conversion import TORCH_NORM_NAMES, UnexpectedKeyError, conv_norm_key, convert_state_dict, scale_classifier

MARKER = 'encoder.convolution.convolution.weight'  # the key that tells a Transformers PP-LCNet state dict
NETWORK = 'Transformers PP-LCNet'
_PARTS = {'depthwise_convolution': 'depthwise_conv', 'pointwise_convolution': 'pointwise_conv'}
_LAYER = {'convolution': 'conv', 'normalization': 'bn'}
_BLOCK = re.compile(r'^encoder\.blocks\.(\d+)\.layers\.(\d+)\.(.+)$')
_HEAD = {
    'last_convolution.weight': 'head.head_conv.conv.weight',
    'head.weight': 'head.fc.weight',
    'head.bias': 'head.fc.bias',
}
_SE = re.compile(r'^squeeze_excitation_module\.convolutions\.([02])\.(weight|bias)$')
# Fields of PPLCNetConfig that lcnet-mm's PP-LCNet reproduces only at these values.
_FIXED = {'model_type': 'pp_lcnet', 'hidden_act': 'hardswish', 'reduction': 4, 'divisor': 8}


def hf_key(key: str) -> str:
    """A Transformers PP-LCNet key -> lcnet-mm's."""
    if key.startswith('encoder.convolution.'):
        return _conv_norm_key('backbone.stem', key[len('encoder.convolution.') :], key)
    block = _BLOCK.match(key)
    if block:
        prefix, rest = f'backbone.stages.{block[1]}.{block[2]}', block[3]
        se = _SE.match(rest)
        if se:
            return f'{prefix}.se.{"squeeze" if se[1] == "0" else "excite"}.conv.{se[2]}'
        part, _, tail = rest.partition('.')
        if part in _PARTS:
            return _conv_norm_key(f'{prefix}.{_PARTS[part]}', tail, key)
    if key in _HEAD:
        return _HEAD[key]
    raise UnexpectedKeyError(key, NETWORK)


def _conv_norm_key(prefix: str, tail: str, key: str) -> str:
    return conv_norm_key(prefix, tail, key, NETWORK, layers=_LAYER, norm_names=TORCH_NORM_NAMES)


def hf_to_lcnet_mm(state_dict: Dict[str, torch.Tensor], dropout_scale: float = 0.8) -> Dict[str, torch.Tensor]:
    """Rename a Transformers PP-LCNet state dict to lcnet-mm's ``backbone.*`` / ``head.*`` keys, with
    ``head.fc.weight`` multiplied by ``dropout_scale`` (``1 - hidden_dropout_prob``; see the module docstring)."""
    return convert_state_dict(state_dict, hf_key, scale_classifier(dropout_scale))


def read_config(path) -> Optional[Dict]:
    """The ``config.json`` of a Transformers checkpoint: inside a folder, or beside the weight file; None if
    there is none. JSON only: nothing in it runs."""
    path = Path(path)
    config = path / 'config.json' if path.is_dir() else path.with_name('config.json')
    if not config.is_file():
        return None
    try:
        return json.loads(config.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f'{config}: not a readable JSON config ({error})') from None


def describe(config: Optional[Dict], source: str) -> Dict:
    """What a Transformers ``PPLCNetConfig`` describes, in lcnet-mm's terms: ``backbone`` (``PPLCNet``
    arguments), ``head`` (``LCNetClsHead`` arguments), ``class_names``, and ``dropout_scale``. Raises
    ValueError naming the field for what ``PPLCNet`` cannot express."""
    config = dict(config or {})
    where = f'{source} (config.json)'
    for field, value in _FIXED.items():
        if config.get(field, value) != value:
            raise ValueError(f'{where}: {field}={config[field]!r} is not supported; lcnet-mm builds {field}={value!r}')
    scale = config.get('scale', 1.0)
    stem_channels = config.get('stem_channels', 16)
    strides = [_stride(config.get('stem_stride', 2), 'stem_stride', where)]
    blocks = config.get('block_configs') or [
        [[row.kernel_size, None, row.out_channels, row.stride, row.use_se] for row in stage] for stage in PP_LCNET
    ]  # the default of PPLCNetConfig
    if not isinstance(blocks, list) or len(blocks) != len(PP_LCNET):
        raise ValueError(f'{where}: block_configs must have {len(PP_LCNET)} stages, got {blocks!r}')
    for i, (stage, ours) in enumerate(zip(blocks, PP_LCNET)):
        if not isinstance(stage, list) or len(stage) != len(ours):
            raise ValueError(
                f'{where}: block_configs[{i}] has {len(stage) if isinstance(stage, list) else stage!r} blocks; '
                f"PP-LCNet's stage {i} has {len(ours)}"
            )
        for j, (row, our_row) in enumerate(zip(stage, ours)):
            kernel, out_channels, use_se = our_row.kernel_size, our_row.out_channels, our_row.use_se
            if not isinstance(row, list) or len(row) != 5:
                raise ValueError(f'{where}: block_configs[{i}][{j}] must be [kernel, in, out, stride, se], got {row!r}')
            if (row[0], row[2], bool(row[4])) != (kernel, out_channels, use_se):
                raise ValueError(
                    f"{where}: block_configs[{i}][{j}] = {row!r} is not PP-LCNet's block (kernel {kernel}, "
                    f'{out_channels} channels at scale 1.0, SE {use_se}); lcnet-mm builds only that network'
                )
            stride = _stride(row[3], f'block_configs[{i}][{j}] stride', where)
            if j == 0:
                strides.append(stride)
            elif stride != 1:
                raise ValueError(f'{where}: block_configs[{i}][{j}] stride {row[3]!r}: only a first block may stride')
    id2label = config.get('id2label') or {}
    num_classes = config.get('num_labels', len(id2label) or None)
    class_names = [id2label[str(i)] for i in range(len(id2label))] if id2label else None
    return dict(
        backbone=dict(scale=float(scale), stem_channels=stem_channels, strides=strides),
        head=dict(num_classes=num_classes, head_channels=config.get('class_expand', 1280)),
        class_names=class_names,
        dropout_scale=1 - config.get('hidden_dropout_prob', 0.2),
    )


def _stride(value, field: str, where: str):
    if not is_stride(value, allow_pair=True):
        raise ValueError(f'{where}: {field} = {value!r}; PP-LCNet strides are 1, 2 or an [h, w] pair of them')
    return int(value) if is_int(value) else tuple(value)


def _convert(state_dict: Dict, source: str, path) -> Tuple[Dict, float, Dict]:
    config = read_config(path)
    described = describe(config, source)
    converted = hf_to_lcnet_mm(state_dict, described['dropout_scale'])
    converted, scale, details = checked_lcnet(converted, source, described['backbone'], described['head'])
    strides = described['backbone']['strides']
    details.update(
        class_names=described['class_names'],
        config_json=config is not None,
        backbone=dict(described['backbone'], strides=[list(s) if isinstance(s, tuple) else s for s in strides]),
        head=dict(
            num_classes=details['num_classes'],
            in_channels=int(converted['head.head_conv.conv.weight'].shape[1]),
            head_channels=described['head']['head_channels'],
        ),
    )
    return converted, scale, details


def matches(state_dict) -> bool:
    return MARKER in state_dict


convert = _convert
