"""The ways a network can run on the CPU ("paths"), each a callable ``images -> outputs``.

- ``eager``: the model as trained, eval mode, ``torch.inference_mode``.
- ``folded``: BN folded into the convs: ``switch_to_deploy()`` where the model has one (PP-LCNet), then
  mmcv's ``fuse_conv_bn`` for the rest (any conv directly followed by a BN sibling).
- ``folded-cl``: ``folded`` in channels-last memory format (oneDNN's depthwise kernels prefer it).
- ``jit``: ``torch.jit.trace`` + ``torch.jit.optimize_for_inference`` of the eager model (freezes, folds
  BN, pre-packs the oneDNN conv weights). Where that pass fails, ``torch.jit.freeze`` alone (noted in the row).
- ``compile``: ``torch.compile`` (inductor) of ``folded-cl`` with inductor's freezing, compiled for the
  benchmark's input size; the compile time is its own column, the graph breaks are noted in the row.
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
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.deploy import (
    DEFAULT_KEEP_FLOAT,
    INT8_BACKENDS,
    OnnxRuntimeModel,
    OpenVinoModel,
    PrecisionUnavailable,
    export_onnx,
    switch_to_deploy,
)
from lcnet_mm.utils import BF16_FLAGS, native_bf16_features


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


class DeployArtifacts:
    """What one run makes once per subject and every path of it shares: the exported ONNX graph (the same file
    serves ONNX Runtime, OpenVINO and quantization), the INT8 calibration images, and the INT8 model of each
    back-end, written into ``out_dir``. A file left there by an earlier run is overwritten: its weights may
    differ."""

    def __init__(self, out_dir: str, calibration: int = 100, keep_float: Sequence[str] = DEFAULT_KEEP_FLOAT):
        self.out_dir, self.calibration, self.keep_float = out_dir, calibration, list(keep_float)
        self._onnx: Dict[str, str] = {}
        self._calibration: Dict[str, Tuple[List[torch.Tensor], str]] = {}
        self._int8: Dict[Tuple[str, str], Tuple[str, str]] = {}

    def onnx_file(self, subject, images: torch.Tensor) -> str:
        """The subject's network exported (BN folded, dynamic shapes), once."""
        if subject.name not in self._onnx:
            path = osp.join(self.out_dir, f'{subject.file_name}.onnx')
            export_onnx(subject.network, path, tuple(images.shape[2:]), dynamic=True, fold=True)
            self._onnx[subject.name] = path
        return self._onnx[subject.name]

    def calibration_images(self, subject, images: torch.Tensor) -> Tuple[List[torch.Tensor], str]:
        """(images, what they are): ``calibration`` validation images of a subject with a checkpoint; random
        images of ``images``' shape for one with random weights (whose accuracy means nothing: latency only)."""
        from .accuracy import calibration_images

        if subject.name not in self._calibration:
            if subject.checkpoint is not None:
                batches = calibration_images(subject, self.calibration)
                source = f'{len(batches)} validation images'
            else:
                generator = torch.Generator().manual_seed(2)
                batches = [torch.randn(images.shape, generator=generator) for _ in range(min(self.calibration, 8))]
                source = f'{len(batches)} random images (random weights: latency only)'
            self._calibration[subject.name] = (batches, source)
        return self._calibration[subject.name]

    def int8_model_file(self, subject, backend: str, images: torch.Tensor) -> Tuple[str, str]:
        """(path of the INT8 model, a note saying what it was calibrated on and what stayed float), quantized once
        per subject and back-end from the subject's ONNX graph, with ``keep_float`` layers kept in float."""
        key = (subject.name, backend)
        if key not in self._int8:
            fp32 = self.onnx_file(subject, images)
            batches, source = self.calibration_images(subject, images)
            int8 = INT8_BACKENDS[backend]
            path = osp.join(self.out_dir, f'{subject.file_name}-int8{int8.suffix}')
            kept = int8.quantize(fp32, path, batches, self.keep_float)
            floats = ', '.join(f'{rule} {len(nodes)}' for rule, nodes in kept.items()) or 'none'
            self._int8[key] = (path, f'calibrated on {source}; float layers: {floats}')
        return self._int8[key]


@dataclass
class PathInputs:
    """What building a path may need besides the subject: an example input, the thread count, and the run's
    :class:`DeployArtifacts` (exported graphs and INT8 models in ``onnx_dir``, with the INT8 options)."""

    images: torch.Tensor
    threads: int
    onnx_dir: str
    calibration: int = 100
    keep_float: Sequence[str] = DEFAULT_KEEP_FLOAT
    artifacts: DeployArtifacts = field(init=False)

    def __post_init__(self):
        self.artifacts = DeployArtifacts(self.onnx_dir, self.calibration, self.keep_float)


def _eager(subject, inputs):
    return _torch_runner(subject.network)


def _folded(subject, inputs):
    return _torch_runner(folded_network(subject.network))


def _folded_channels_last(subject, inputs):
    run = _torch_runner(folded_network(subject.network).to(memory_format=torch.channels_last))
    return lambda x: run(x.contiguous(memory_format=torch.channels_last))


def _jit(subject, inputs):
    with torch.inference_mode():
        traced = torch.jit.trace(copy.deepcopy(subject.network).eval(), (inputs.images,), strict=False)
        try:
            run = _torch_runner(torch.jit.optimize_for_inference(traced))
        except RuntimeError as error:  # torch 2.14 asserts on mmcv's HSigmoid (MobileNetV3): freeze only
            run = _torch_runner(torch.jit.freeze(traced))
            run.note = f'jit: freeze only, optimize_for_inference failed ({str(error).splitlines()[0][:80]})'
    return run


def _compiled(subject, inputs):
    return compiled_runner(subject.network, inputs.images)


def _onnxruntime(subject, inputs):
    return OnnxRuntimeModel(inputs.artifacts.onnx_file(subject, inputs.images), threads=inputs.threads)


def _openvino(precision):
    def build(subject, inputs):
        path = inputs.artifacts.onnx_file(subject, inputs.images)
        return OpenVinoModel(path, threads=inputs.threads, precision=precision)

    return build


def _int8(backend):
    def build(subject, inputs):
        path, note = inputs.artifacts.int8_model_file(subject, backend, inputs.images)
        run = INT8_BACKENDS[backend].runtime(path, threads=inputs.threads)
        run.note = note
        return run

    return build


@dataclass(frozen=True)
class Path:
    build: Callable  # (subject, PathInputs) -> callable images -> outputs
    low_precision: bool = False  # judged by its accuracy on the test set, not by parity with eager


# Every path, in the order the CLI lists them; a new path is one row here.
PATH_TABLE = {
    'eager': Path(_eager),
    'folded': Path(_folded),
    'folded-cl': Path(_folded_channels_last),
    'jit': Path(_jit),
    'compile': Path(_compiled),
    'onnxruntime': Path(_onnxruntime),
    'openvino': Path(_openvino('f32')),
    'eager-bf16': Path(lambda subject, inputs: bf16_autocast_runner(subject.network), low_precision=True),
    **{f'{backend}-int8': Path(_int8(backend), low_precision=True) for backend in INT8_BACKENDS},
    'openvino-bf16': Path(_openvino('bf16'), low_precision=True),
}
PATHS = tuple(PATH_TABLE)
LOW_PRECISION_PATHS = tuple(name for name, path in PATH_TABLE.items() if path.low_precision)


def build_path(name: str, subject, inputs: PathInputs) -> Callable:
    """A callable running ``subject.network`` the way path ``name`` says."""
    if name not in PATH_TABLE:
        raise ValueError(f'unknown path {name!r}; choose from {PATHS}')
    return PATH_TABLE[name].build(subject, inputs)


def compiled_runner(network: nn.Module, images: torch.Tensor) -> Callable:
    """``torch.compile`` (inductor) of the folded network in channels-last, with inductor's freezing (weights
    become constants, so their layout and BN folding are compiled in). Compiled on the first call, with
    ``images``: the runner's ``compile_s`` is how long that took, its ``note`` how many graphs dynamo made and
    where it broke the graph. A new input shape compiles again (``dynamic=False``: the fastest kernels for a
    fixed size, as a deployed detector runs). Decoding and NMS are outside ``network`` (see
    :class:`lcnet_mm.deploy.RawOutputs`)."""
    import torch._dynamo

    folded = folded_network(network).to(memory_format=torch.channels_last)
    example = images.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        explanation = torch._dynamo.explain(folded)(example)
    torch._dynamo.reset()
    compiled = torch.compile(folded, backend='inductor', dynamic=False, options={'freezing': True})

    def run(x):
        with torch.no_grad():
            return compiled(x.contiguous(memory_format=torch.channels_last))

    start = time.perf_counter()
    run(images)
    run.compile_s = time.perf_counter() - start
    breaks = [
        f'{b.user_stack[-1].filename.split("/")[-1]}:{b.user_stack[-1].lineno} {b.reason}'[:120]
        for b in explanation.break_reasons
        if b.user_stack
    ]
    run.note = f'compile: {explanation.graph_count} graph(s), {explanation.graph_break_count} graph break(s)' + (
        f' ({"; ".join(breaks[:3])})' if breaks else ''
    )
    return run


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
