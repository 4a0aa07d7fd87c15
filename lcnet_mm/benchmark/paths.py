"""The ways a network can run on the CPU ("paths"), each a callable ``images -> outputs``.

- ``eager``: the model as trained, eval mode, ``torch.inference_mode``.
- ``folded``: BN folded into the convs: ``switch_to_deploy()`` where the model has one (PP-LCNet), then
  mmcv's ``fuse_conv_bn`` for the rest (any conv directly followed by a BN sibling).
- ``folded-cl``: ``folded`` in channels-last memory format (oneDNN's depthwise kernels prefer it).
- ``jit``: ``torch.jit.trace`` + ``torch.jit.optimize_for_inference`` of the eager model (freezes, folds
  BN, pre-packs the oneDNN conv weights): the fastest PyTorch path measured here. Where that pass fails,
  ``torch.jit.freeze`` alone (noted in the row).
- ``onnxruntime``, ``openvino``: the exported ONNX graph (``lcnet_mm.deploy.export_onnx``, BN folded,
  dynamic shapes) in ONNX Runtime / OpenVINO's CPU plugin, fp32.

Every path is checked against ``eager`` on the same input (:func:`lcnet_mm.deploy.output_difference`); a path that
computes something else is reported, not timed.
"""

import copy
import os.path as osp
from typing import Callable

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.deploy import OnnxRuntimeModel, OpenVinoModel, export_onnx, switch_to_deploy

PATHS = ('eager', 'folded', 'folded-cl', 'jit', 'onnxruntime', 'openvino')


def _torch_runner(network) -> Callable:
    def run(images):
        with torch.inference_mode():
            return network(images)

    return run


def folded_network(network):
    from mmcv.cnn import fuse_conv_bn

    for module in network.modules():
        # mmcv's fuse_conv_bn replaces a BN that follows a conv by an identity; a BN subclass that does more
        # (timm's BatchNormAct2d also applies the activation) would lose that part.
        if isinstance(module, _BatchNorm) and type(module) not in (nn.BatchNorm2d, nn.SyncBatchNorm):
            raise TypeError(f'{type(module).__name__} is a batch norm with more behaviour than BN; not folded')
    folded = copy.deepcopy(network)
    _untie_shared_convs(folded)
    switch_to_deploy(folded)
    return fuse_conv_bn(folded).eval()


def _untie_shared_convs(network: nn.Module):
    """Give every parent its own copy of a conv it shares with another parent. Folding writes each BN into the
    conv before it; a conv shared between levels that each have their own BN (RTMDet's ``share_conv`` head)
    would receive every level's BN in turn and be wrong for all but the last."""
    seen = set()
    for parent in network.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                if id(child) in seen:
                    setattr(parent, name, copy.deepcopy(child))
                else:
                    seen.add(id(child))


def build_path(name: str, subject, images: torch.Tensor, threads: int, onnx_dir: str) -> Callable:
    """A callable running ``subject.network`` the way ``name`` says; ``images`` is an example input."""
    network = subject.network
    if name == 'eager':
        return _torch_runner(network)
    if name == 'folded':
        return _torch_runner(folded_network(network))
    if name == 'folded-cl':
        folded = folded_network(network).to(memory_format=torch.channels_last)
        run = _torch_runner(folded)
        return lambda x: run(x.contiguous(memory_format=torch.channels_last))
    if name == 'jit':
        with torch.inference_mode():
            traced = torch.jit.trace(copy.deepcopy(network).eval(), (images,), strict=False)
            try:
                run = _torch_runner(torch.jit.optimize_for_inference(traced))
            except RuntimeError as error:  # torch 2.14 asserts on mmcv's HSigmoid (MobileNetV3): freeze only
                run = _torch_runner(torch.jit.freeze(traced))
                run.note = f'jit: freeze only, optimize_for_inference failed ({str(error).splitlines()[0][:80]})'
        return run
    if name in ('onnxruntime', 'openvino'):
        path = onnx_file(subject, images, onnx_dir)
        return (OnnxRuntimeModel if name == 'onnxruntime' else OpenVinoModel)(path, threads=threads)
    raise ValueError(f'unknown path {name!r}; choose from {PATHS}')


def onnx_file(subject, images: torch.Tensor, onnx_dir: str) -> str:
    """Export the subject once per run (the same file serves ONNX Runtime and OpenVINO); a file left by an
    earlier run in the same directory is overwritten, its weights may differ."""
    if subject.onnx_path is None:
        path = osp.join(onnx_dir, f'{subject.file_name}.onnx')
        export_onnx(subject.network, path, tuple(images.shape[2:]), dynamic=True, fold=True)
        subject.onnx_path = path
    return subject.onnx_path
