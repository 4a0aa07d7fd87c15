"""Folding batch norm into the convolution before it, for inference ("deploy").

In eval mode a BN is a per-channel affine map, so ``bn(conv(x))`` equals one convolution with scaled
weights and a shifted bias. PP-LCNet has a BN after each of its 27 convs: folding removes as many ops
from every forward (at batch 1 per-op overhead is a large share of the time) and leaves conv + activation
pairs, which ONNX Runtime, OpenVINO and oneDNN fuse.
"""

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.utils.fusion import fuse_conv_bn_weights


def fold_norm_into_conv(module: ConvModule) -> ConvModule:
    """Fold the BN of a ``conv -> norm -> act`` :class:`ConvModule` into its conv, in place.

    Afterwards the module is exactly what ``ConvModule(..., norm_cfg=None, bias=True)`` builds: a conv
    with bias, no norm child (so its state dict has the same keys), the same activation. A module
    without a norm is left as it is.
    """
    if not module.with_norm:
        return module
    weight, bias = folded_weight_and_bias(module)
    conv = module.conv
    dtype = conv.weight.dtype
    requires_grad = conv.weight.requires_grad
    conv.weight = nn.Parameter(weight.to(dtype), requires_grad=requires_grad)
    conv.bias = nn.Parameter(bias.to(dtype), requires_grad=requires_grad)
    delattr(module, module.norm_name)
    module.norm_name = None
    module.with_norm = False
    module.with_bias = True
    return module


def folded_weight_and_bias(module: ConvModule) -> tuple:
    """The weight and bias of the conv that computes ``module``'s conv and norm in eval mode, in float64 (so that
    the folded float32 weights are correctly rounded, and sums of folded branches too). A module without a norm
    gives its own conv's weight and bias (zeros without one)."""
    conv = module.conv
    if not module.with_norm:
        bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
        return conv.weight.detach().double(), bias.detach().double()
    norm = module.norm
    if not isinstance(norm, _BatchNorm):
        raise TypeError(
            f'only batch norm can be folded into a convolution, got {type(norm).__name__} '
            f'({module.norm_name}); build the model with norm_cfg=dict(type="BN") to deploy it'
        )
    if tuple(module.order[:2]) != ('conv', 'norm'):
        raise ValueError(f'can only fold a norm that directly follows the conv, got order {module.order}')
    if norm.running_mean is None:
        raise ValueError('cannot fold a batch norm without running statistics (track_running_stats=False)')

    def as_double(tensor):
        return None if tensor is None else tensor.detach().double()

    with torch.no_grad():
        return fuse_conv_bn_weights(
            *map(as_double, (conv.weight, conv.bias, norm.running_mean, norm.running_var)),
            norm.eps,
            *map(as_double, (norm.weight, norm.bias)),
        )


def deploy_layer_cfg(deploy: bool, norm_cfg: dict) -> dict:
    """``ConvModule`` arguments for a conv whose BN is (``deploy=True``) or is not yet folded."""
    if deploy:
        return dict(norm_cfg=None, bias=True)
    return dict(norm_cfg=norm_cfg, bias='auto')


def fold_all_norms(module: nn.Module) -> nn.Module:
    """Fold the BN of every ``conv -> norm`` :class:`ConvModule` inside ``module`` (see
    :func:`fold_norm_into_conv`), in place."""
    for child in list(module.modules()):
        if isinstance(child, ConvModule) and child.with_norm:
            fold_norm_into_conv(child)
    return module


def refuse_other_deploy_form(module: nn.Module, state_dict: dict, prefix: str, name: str, option: str):
    """Raise if ``state_dict`` holds the other form of ``module`` than the one it was built in: batch norms
    for a ``deploy=True`` module, or folded convs (biases where ``module`` has norms) for a training-form one.
    Otherwise mmengine would load half the tensors and leave the rest initialised, with only a warning."""
    ours = module.state_dict()
    theirs = {k[len(prefix) :] for k in state_dict if k.startswith(prefix)}
    if not theirs:
        return
    our_norms = {k for k in ours if '.bn.' in f'.{k}'}
    their_norms = {k for k in theirs if '.bn.' in f'.{k}'}
    if not our_norms and their_norms:
        raise ValueError(
            f'this checkpoint has batch norms (a training checkpoint) but the {name} was built with deploy=True; '
            f'build it with deploy=False, or fold the checkpoint first with tools/switch_to_deploy.py'
        )
    if our_norms and not their_norms and any(k.endswith('.conv.bias') and k not in ours for k in theirs):
        raise ValueError(
            f'this checkpoint is BN-folded (written after switch_to_deploy) but the {name} was built with '
            f'deploy=False; set deploy=True in its config (--cfg-options {option}=True)'
        )


class FoldsNormsForDeploy:
    """Mixin of a module with an inference form in which every BN is folded into its conv: built by its
    ``deploy=True`` argument, reached by :meth:`switch_to_deploy`. Loading refuses a checkpoint of the other
    form, naming the fix. The module sets ``self.deploy``; ``deploy_option`` is the config key of its
    ``deploy`` argument, for the error message."""

    deploy_option = 'deploy'

    def switch_to_deploy(self):
        """Fold every BN into the conv before it, in place. The module then computes what it computed in eval
        mode (up to float rounding), has the state dict of its ``deploy=True`` form, and can no longer be
        trained as before (no BN). A second call changes nothing.

        Parts with an inference form of their own (a block whose parallel branches merge into one conv) are
        switched first, by their own ``switch_to_deploy()``; the norms left are folded after."""
        for module in [m for m in self.modules() if m is not self and callable(getattr(m, 'switch_to_deploy', None))]:
            module.switch_to_deploy()
        fold_all_norms(self)
        self.deploy = True
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        refuse_other_deploy_form(self, state_dict, prefix, type(self).__name__, self.deploy_option)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
