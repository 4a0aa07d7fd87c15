"""ONNX export of a classifier's or dense detector's network (see :mod:`.raw_outputs`), and the check
that the exported graph computes what PyTorch computes."""

import copy
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn as nn

from .raw_outputs import RawOutputs, differences_by_kind, example_input, output_difference
from .switch import switch_to_deploy

INPUT_NAME = 'images'
# The largest difference between ONNX Runtime and PyTorch, per kind of output, relative to its largest absolute value.
# Measured on trained checkpoints: 7e-7 for every FCOS output kind, 2.5e-6 for PicoDet's box distributions, but
# 1.1e-3 for PicoDet's class scores: ONNX Runtime's sigmoid gives 0 for logits below about -16 where PyTorch gives
# 1e-7, and the score's square root (sqrt(cls * align)) makes that 1.7e-4, against a largest score of 0.16 after two
# epochs. The decoded detections agree (same boxes, 4e-4 px). A wrong graph is off by 1e-1 or more.
ONNX_TOLERANCE = 2e-3


def export_onnx(
    model: nn.Module,
    path: str,
    input_size: Sequence[int] = (224, 224),
    dynamic: bool = True,
    fold: bool = True,
    opset: int = 18,
) -> List[str]:
    """Export ``model`` (eval mode) to ``path``; returns the output names.

    ``dynamic`` makes batch, height and width symbolic. ``fold`` exports the deploy form (BN folded by
    ``switch_to_deploy`` where the model has one) of a copy; the model itself is not changed.
    Uses torch's ``torch.export``-based exporter (the supported one since torch 2.9).
    """
    if fold:
        model = copy.deepcopy(model)
        switch_to_deploy(model)
    wrapper = RawOutputs(model)
    images = example_input(input_size, batch_size=1)
    with torch.no_grad():
        names = wrapper.output_names(wrapper(images))
    dynamic_shapes = None
    if dynamic:
        dim = torch.export.Dim.DYNAMIC
        dynamic_shapes = {'images': {0: dim, 2: dim, 3: dim}}
    torch.onnx.export(
        wrapper,
        (images,),
        path,
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=names,
        dynamic_shapes=dynamic_shapes,
        opset_version=opset,
        verbose=False,
        report=False,
        external_data=False,  # one self-contained file (the weights are far below 2 GB)
    )
    return names


def onnx_parity(model: nn.Module, onnx_path: str, shapes: Sequence[Sequence[int]], seed: int = 0) -> List[Dict]:
    """Run the PyTorch model and the ONNX graph (ONNX Runtime) on random inputs of each (N, 3, H, W) in
    ``shapes``; returns per shape the largest absolute difference over all outputs, the largest output, the
    largest difference of each output divided by its largest value where that exceeds 1, and ``by_kind``: per
    kind of output, the difference relative to that kind's scale (:func:`differences_by_kind`)."""
    from .runtimes import OnnxRuntimeModel

    session = OnnxRuntimeModel(onnx_path)
    wrapper = RawOutputs(model)
    results = []
    for i, shape in enumerate(shapes):
        batch, _, height, width = shape
        images = example_input((height, width), batch_size=batch, seed=seed + i)
        with torch.no_grad():
            tensors = wrapper(images)
        expected, names = [t.numpy() for t in tensors], wrapper.output_names(tensors)
        actual = session(images.numpy())
        if len(actual) != len(expected):
            raise RuntimeError(f'{onnx_path} has {len(actual)} outputs, the PyTorch model {len(expected)}')
        for a, e in zip(actual, expected):
            if a.shape != e.shape:
                raise RuntimeError(f'{onnx_path}: output shape {a.shape} != PyTorch {e.shape} for input {shape}')
        max_abs_diff, max_scaled_diff = output_difference(actual, expected)
        results.append(
            dict(
                shape=tuple(shape),
                max_abs_diff=max_abs_diff,
                max_scaled_diff=max_scaled_diff,
                max_abs_output=max(float(np.abs(e).max()) for e in expected),
                by_kind=differences_by_kind(actual, expected, names),
                outputs=actual,
                expected=expected,
            )
        )
    return results
