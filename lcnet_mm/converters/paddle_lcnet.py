"""PaddleClas ``PPLCNet_x*_pretrained.pdparams`` -> lcnet-mm.

PaddleClas names stages blocks2..blocks6 (lcnet-mm stages 0..4), stores BN statistics as
``_mean``/``_variance``, and stores Linear weights as [in, out]. Its dropout runs in
``downscale_in_infer`` mode: at inference it multiplies the features by (1 - p) = 0.8 before the
classifier, where torch's dropout is the identity. Folding that factor into ``fc.weight`` (not the bias)
makes lcnet-mm's eval logits equal Paddle's.
"""

import re
from typing import Dict

import torch

from .checks import checked_lcnet
from .conversion import UnexpectedKeyError, conv_norm_key, convert_state_dict, scale_classifier

PADDLE_DROPOUT_SCALE = 0.8  # 1 - p for PaddleClas's p=0.2 downscale_in_infer dropout
NETWORK = 'PaddleClas PP-LCNet'
_PARTS = {'dw_conv': 'depthwise_conv', 'pw_conv': 'pointwise_conv'}
_BLOCK = re.compile(r'^blocks([2-6])\.(\d+)\.(.+)$')
_SE = re.compile(r'se\.conv([12])\.(weight|bias)')
_HEAD = {
    'last_conv.weight': 'head.head_conv.conv.weight',
    'last_conv.bias': 'head.head_conv.conv.bias',
    'fc.weight': 'head.fc.weight',
    'fc.bias': 'head.fc.bias',
}


def se_key(prefix: str, rest: str) -> str:
    """PaddleClas's SE module (``se.conv1`` squeezes, ``se.conv2`` excites) -> :class:`SqueezeExcitation`'s;
    None if ``rest`` is not one of its tensors."""
    se = _SE.fullmatch(rest)
    return f'{prefix}.se.{"squeeze" if se[1] == "1" else "excite"}.conv.{se[2]}' if se else None


def lcnet_key(key: str) -> str:
    """A PaddleClas PP-LCNet key -> lcnet-mm's."""
    if key.startswith('conv1.'):
        return conv_norm_key('backbone.stem', key[len('conv1.') :], key, NETWORK)
    block = _BLOCK.match(key)
    if block:
        prefix, rest = f'backbone.stages.{int(block[1]) - 2}.{block[2]}', block[3]
        part, _, tail = rest.partition('.')
        if part in _PARTS:
            return conv_norm_key(f'{prefix}.{_PARTS[part]}', tail, key, NETWORK)
        se = se_key(prefix, rest)
        if se:
            return se
    if key in _HEAD:
        return _HEAD[key]
    raise UnexpectedKeyError(key, NETWORK)


def classifier_dropout_scale(state_dict: Dict, dropout_scale: float = PADDLE_DROPOUT_SCALE) -> float:
    """PaddleClas's dropout sits after the last conv: a PULC model without it (``use_last_conv=False``) has none."""
    return dropout_scale if 'last_conv.weight' in state_dict else 1.0


def paddle_to_lcnet_mm(state_dict: Dict, dropout_scale: float = PADDLE_DROPOUT_SCALE) -> Dict[str, torch.Tensor]:
    """Rename and reshape a PaddleClas PP-LCNet state dict (numpy arrays) to lcnet-mm's layout: ``fc.weight``
    transposed ([in, out] -> [out, in]) and multiplied by ``dropout_scale`` (see the module docstring) where the
    model has the last conv that the dropout follows; BN layers get ``num_batches_tracked``."""
    scale = classifier_dropout_scale(state_dict, dropout_scale)
    return convert_state_dict(state_dict, lcnet_key, scale_classifier(scale, transpose=True))


def matches(state_dict: Dict) -> bool:
    # not PP-LCNetV3's det backbone, which has the same stem and stage names (paddle_ppocr_det)
    return 'conv1.conv.weight' in state_dict and 'blocks2.0.dw_conv.lab.scale' not in state_dict


def convert(state_dict: Dict, source: str, path) -> tuple:
    return checked_lcnet(paddle_to_lcnet_mm(state_dict), source)
