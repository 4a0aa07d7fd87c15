"""ONNX export of a classifier's or dense detector's network (see :mod:`.raw_outputs`), and the check
that the exported graph computes what PyTorch computes."""

import copy
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn as nn

from .raw_outputs import RawOutputs, example_input, output_difference
from .switch import switch_to_deploy

INPUT_NAME = 'images'


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
    ``shapes``; returns per shape the largest absolute difference over all outputs, the largest output, and
    the largest difference of each output divided by its largest value where that exceeds 1."""
    from .runtimes import OnnxRuntimeModel

    session = OnnxRuntimeModel(onnx_path)
    wrapper = RawOutputs(model)
    results = []
    for i, shape in enumerate(shapes):
        batch, _, height, width = shape
        images = example_input((height, width), batch_size=batch, seed=seed + i)
        with torch.no_grad():
            expected = [t.numpy() for t in wrapper(images)]
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
                outputs=actual,
                expected=expected,
            )
        )
    return results
