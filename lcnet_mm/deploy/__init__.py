"""Inference forms of trained models: BN folding, the raw network outputs, ONNX export, the runtimes
that run it (ONNX Runtime, OpenVINO) and post-training INT8 quantization for both."""

from .onnx_export import ONNX_TOLERANCE, export_onnx, onnx_parity
from .quantization import (
    BACKENDS,
    DEFAULT_KEEP_FLOAT,
    INT8_BACKENDS,
    KEEP_FLOAT_RULES,
    Int8Backend,
    KeepFloatRule,
    check_keep_float,
    keep_float_help,
    keep_float_nodes,
    quantize_onnxruntime,
    quantize_openvino,
)
from .raw_outputs import (
    RawOutputs,
    decode_detections,
    differences_by_kind,
    example_input,
    model_kind,
    model_outputs,
    output_difference,
    predictions_from_outputs,
)
from .runtimes import OnnxRuntimeModel, OpenVinoModel, PrecisionUnavailable
from .switch import switch_to_deploy

__all__ = [
    'ONNX_TOLERANCE',
    'BACKENDS',
    'DEFAULT_KEEP_FLOAT',
    'INT8_BACKENDS',
    'Int8Backend',
    'KEEP_FLOAT_RULES',
    'KeepFloatRule',
    'keep_float_help',
    'RawOutputs',
    'OnnxRuntimeModel',
    'OpenVinoModel',
    'PrecisionUnavailable',
    'check_keep_float',
    'keep_float_nodes',
    'predictions_from_outputs',
    'quantize_onnxruntime',
    'quantize_openvino',
    'decode_detections',
    'differences_by_kind',
    'example_input',
    'export_onnx',
    'model_kind',
    'model_outputs',
    'onnx_parity',
    'output_difference',
    'switch_to_deploy',
]
