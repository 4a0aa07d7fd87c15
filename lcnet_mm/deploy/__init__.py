"""Inference forms of trained models: BN folding, the raw network outputs, ONNX export and the runtimes
that run it (ONNX Runtime, OpenVINO)."""

from .onnx_export import export_onnx, onnx_parity
from .raw_outputs import RawOutputs, decode_detections, example_input, model_kind, model_outputs, output_difference
from .runtimes import OnnxRuntimeModel, OpenVinoModel
from .switch import switch_to_deploy

__all__ = [
    'RawOutputs',
    'OnnxRuntimeModel',
    'OpenVinoModel',
    'decode_detections',
    'example_input',
    'export_onnx',
    'model_kind',
    'model_outputs',
    'onnx_parity',
    'output_difference',
    'switch_to_deploy',
]
