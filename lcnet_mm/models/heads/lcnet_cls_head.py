import logging
from typing import Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmpretrain.models.heads import ClsHead

from lcnet_mm.io import refuse_key_mismatches, refuse_shape_mismatches, shape_mismatches
from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int


@MODELS.register_module()
class LCNetClsHead(ClsHead):
    """PP-LCNet's classification head: global average pooling, a wide 1x1 conv (1280 channels) with
    H-Swish, dropout and a linear classifier.

    The wide conv after pooling is cheap (it runs on a 1x1 map) and worth +3.2 top-1 at x0.5 in the
    paper's ablation. With ``with_head_conv=False`` this is a plain linear head on the pooled features
    (PaddleClas's ``use_last_conv=False``).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last backbone stage (``make_divisible(512 * scale)``).
        head_channels (int): Width of the 1x1 conv after pooling; 1280 at every scale.
        with_head_conv (bool): Use the 1x1 conv (and its activation).
        head_conv_bias (bool): Give the 1x1 conv a bias (PaddleClas: no; timm: yes).
        act_cfg (dict): Activation after the 1x1 conv.
        dropout_ratio (float): Dropout before the classifier.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of mmpretrain's ``ClsHead``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 512,
        head_channels: int = 1280,
        with_head_conv: bool = True,
        head_conv_bias: bool = False,
        act_cfg: dict = dict(type='HSwish'),
        dropout_ratio: float = 0.2,
        init_cfg=(
            dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='normal'),
            dict(type='Normal', layer='Linear', std=0.01),
        ),
        **kwargs,
    ):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg, **kwargs)
        for name, value in (
            ('num_classes', num_classes),
            ('in_channels', in_channels),
            ('head_channels', head_channels),
        ):
            check_int(value, f'LCNetClsHead {name}', minimum=1)
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'LCNetClsHead dropout_ratio must be in [0, 1), got {dropout_ratio!r}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.pool = nn.AdaptiveAvgPool2d(1)
        if with_head_conv:
            self.head_conv = ConvModule(
                in_channels, head_channels, 1, bias=head_conv_bias, norm_cfg=None, act_cfg=act_cfg
            )
            fc_channels = head_channels
        else:
            self.head_conv = None
            fc_channels = in_channels
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(fc_channels, num_classes)

    def switch_to_deploy(self):
        """The inference form: dropout (an identity in eval mode) is removed from the graph. The head has no
        norm to fold (PaddleClas's head conv has none), so its state dict does not change."""
        self.dropout = nn.Identity()
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A head conv of another shape comes from another backbone width: refuse it. A classifier of
        # another num_classes is the fine-tuning case: mmengine skips it with a warning, as for any head.
        refuse_shape_mismatches(
            self,
            state_dict,
            prefix,
            f'LCNetClsHead(in_channels={self.in_channels})',
            'A checkpoint of another PP-LCNet width?',
            only='head_conv.',
        )
        refuse_key_mismatches(self, state_dict, prefix, f'LCNetClsHead(in_channels={self.in_channels})', _keys_hint)
        skipped = shape_mismatches(
            state_dict, {f'{prefix}{k}': v.shape for k, v in self.fc.state_dict(prefix='fc.').items()}
        )
        if skipped:
            print_log(
                f"LCNetClsHead: fine-tuning to num_classes={self.num_classes}: the checkpoint's classifier is skipped "
                f'(initialised instead): {skipped}',
                logger='current',
                level=logging.WARNING,
            )
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self):
        # As in PPLCNet: stop ConvModule from overriding init_cfg for the head conv.
        if self.init_cfg and self.head_conv is not None:
            self.head_conv.is_init = True
        super().init_weights()

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """The features the classifier sees: pooled (unless a neck already pooled), through the 1x1 conv."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if x.dim() == 2:  # a GlobalAveragePooling neck already pooled: (N, C)
            x = x[:, :, None, None]
        elif x.dim() == 4:
            x = self.pool(x)
        else:
            raise ValueError(f'LCNetClsHead expects (N, C, H, W) or pooled (N, C) features, got shape {tuple(x.shape)}')
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f'LCNetClsHead was built with in_channels={self.in_channels} but receives '
                f"{x.shape[1]} channels; set in_channels to the backbone's last width"
            )
        if self.head_conv is not None:
            x = self.head_conv(x)
        return x.flatten(1)

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        return self.fc(self.dropout(self.pre_logits(feats)))


def head_conv_bias_hint(missing, unexpected) -> str:
    """The option that makes a checkpoint fit where only the head conv's bias differs (timm's lcnet_* heads have one,
    PaddleClas's do not), else ''. Shared by the head's refusal and ``tools/convert_weights.py --config``."""
    keys = list(missing) + list(unexpected)
    if not keys or not all(key.endswith('head_conv.conv.bias') for key in keys):
        return ''
    has_bias = bool(unexpected)
    return (
        f"The checkpoint's head conv {'has' if has_bias else 'has no'} bias (timm's lcnet heads have one, "
        f"PaddleClas's none): set model.head.head_conv_bias={has_bias}"
    )


def _keys_hint(missing, unexpected) -> str:
    return head_conv_bias_hint(missing, unexpected) or 'A checkpoint of another head (with_head_conv, head_channels)?'
