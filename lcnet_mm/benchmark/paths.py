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

Low precision (:data:`LOW_PRECISION_PATHS`), where accuracy is what tells whether the path is usable:

- ``onnxruntime-int8``, ``openvino-int8``: the same ONNX graph after post-training INT8 quantization
  (:mod:`lcnet_mm.deploy.quantization`), calibrated on the config's validation images (a subject with
  random weights: on random images, for latency only).
- ``openvino-bf16``: the fp32 ONNX graph with OpenVINO's inference precision BF16.
- ``eager-bf16``: the eager model under ``torch.autocast('cpu', torch.bfloat16)``.
BF16 paths exist only where the CPU computes BF16 natively; elsewhere they raise
:class:`lcnet_mm.deploy.PrecisionUnavailable` and the benchmark reports them as unavailable.

Every fp32 path is checked against ``eager`` on the same input (:func:`lcnet_mm.deploy.output_difference`); a
path that computes something else is reported, not timed.
"""

import copy
import os.path as osp
from typing import Callable, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.deploy import (
    DEFAULT_KEEP_FLOAT,
    OnnxRuntimeModel,
    OpenVinoModel,
    PrecisionUnavailable,
    export_onnx,
    quantize_onnxruntime,
    quantize_openvino,
    switch_to_deploy,
)
from lcnet_mm.engine.cpu_features import BF16_FLAGS, native_bf16_features

LOW_PRECISION_PATHS = ('eager-bf16', 'onnxruntime-int8', 'openvino-int8', 'openvino-bf16')
PATHS = ('eager', 'folded', 'folded-cl', 'jit', 'onnxruntime', 'openvino') + LOW_PRECISION_PATHS


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


def build_path(
    name: str,
    subject,
    images: torch.Tensor,
    threads: int,
    onnx_dir: str,
    calibration: int = 100,
    keep_float: Sequence[str] = DEFAULT_KEEP_FLOAT,
) -> Callable:
    """A callable running ``subject.network`` the way ``name`` says; ``images`` is an example input.
    ``calibration`` and ``keep_float`` configure the INT8 paths (see :func:`int8_model_file`)."""
    network = subject.network
    if name == 'eager':
        return _torch_runner(network)
    if name == 'eager-bf16':
        return bf16_autocast_runner(network)
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
    if name == 'onnxruntime':
        return OnnxRuntimeModel(onnx_file(subject, images, onnx_dir), threads=threads)
    if name in ('openvino', 'openvino-bf16'):
        precision = 'bf16' if name == 'openvino-bf16' else 'f32'
        return OpenVinoModel(onnx_file(subject, images, onnx_dir), threads=threads, precision=precision)
    if name in ('onnxruntime-int8', 'openvino-int8'):
        backend = name[: -len('-int8')]
        path, note = int8_model_file(subject, backend, images, onnx_dir, calibration, keep_float)
        run = (OnnxRuntimeModel if backend == 'onnxruntime' else OpenVinoModel)(path, threads=threads)
        run.note = note
        return run
    raise ValueError(f'unknown path {name!r}; choose from {PATHS}')


def bf16_autocast_runner(network) -> Callable:
    """The eager network under BF16 autocast (convs and matmuls in BF16, outputs cast back to fp32)."""
    features = native_bf16_features()
    if not features:
        raise PrecisionUnavailable(
            f'eager BF16: this CPU has none of {", ".join(BF16_FLAGS)}; oneDNN would emulate BF16 through fp32, '
            'slower than fp32 itself'
        )

    def run(images):
        with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):
            outputs = network(images)
        return tuple(output.float() for output in outputs)

    return run


def int8_model_file(subject, backend: str, images, onnx_dir: str, calibration: int, keep_float) -> tuple:
    """(path of the INT8 model, a note saying what it was calibrated on and what stayed float), quantized
    once per run and backend from the subject's exported ONNX graph."""
    from .accuracy import calibration_images

    fp32 = onnx_file(subject, images, onnx_dir)
    if subject.calibration is None:
        if subject.checkpoint is not None:
            subject.calibration = calibration_images(subject, calibration)
            subject.calibration_source = f'{len(subject.calibration)} validation images'
        else:  # random weights: accuracy means nothing, only the latency is measured
            generator = torch.Generator().manual_seed(2)
            subject.calibration = [torch.randn(images.shape, generator=generator) for _ in range(min(calibration, 8))]
            subject.calibration_source = f'{len(subject.calibration)} random images (random weights: latency only)'
    stem = osp.join(onnx_dir, f'{subject.file_name}-int8')
    if backend == 'onnxruntime':
        path = stem + '.onnx'
        kept = quantize_onnxruntime(fp32, path, subject.calibration, keep_float)
    else:
        path = stem + '.xml'
        kept = quantize_openvino(fp32, path, subject.calibration, keep_float)
    floats = ', '.join(f'{rule} {len(nodes)}' for rule, nodes in kept.items()) or 'none'
    return path, f'calibrated on {subject.calibration_source}; float layers: {floats}'


def onnx_file(subject, images: torch.Tensor, onnx_dir: str) -> str:
    """Export the subject once per run (the same file serves ONNX Runtime and OpenVINO); a file left by an
    earlier run in the same directory is overwritten, its weights may differ."""
    if subject.onnx_path is None:
        path = osp.join(onnx_dir, f'{subject.file_name}.onnx')
        export_onnx(subject.network, path, tuple(images.shape[2:]), dynamic=True, fold=True)
        subject.onnx_path = path
    return subject.onnx_path
