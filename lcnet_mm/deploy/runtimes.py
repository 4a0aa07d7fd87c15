"""ONNX models (and OpenVINO IR) in ONNX Runtime and OpenVINO on the CPU, callable like
``model(images) -> outputs``: fp32, INT8 where the model file is quantized (:mod:`.quantization`), and
OpenVINO in BF16 where the CPU computes it."""

from typing import List, Optional

import numpy as np


def as_float32_array(images) -> np.ndarray:
    """A tensor or array as the contiguous float32 numpy array the runtimes (and their calibration) take."""
    return np.ascontiguousarray(images.numpy() if hasattr(images, 'numpy') else images, dtype=np.float32)


class OnnxRuntimeModel:
    """An ONNX file in ONNX Runtime's CPU provider with every graph optimisation on."""

    def __init__(self, path: str, threads: Optional[int] = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # ONNX Runtime's idle workers spin by default, holding the cores for tens of milliseconds after each
        # run: side by side with other runtimes (a benchmark, an app that also runs PyTorch) that slows
        # everything else 2-3x. Waiting threads sleep instead.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        options.add_session_config_entry('session.inter_op.allow_spinning', '0')
        self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images) -> List[np.ndarray]:
        return self.session.run(None, {self.input_name: as_float32_array(images)})


class PrecisionUnavailable(RuntimeError):
    """The CPU (or the runtime on it) does not compute in the precision asked for."""


OPENVINO_PRECISIONS = {'f32': 'float32', 'bf16': 'bfloat16'}


def openvino_capabilities(core) -> list:
    """What OpenVINO's CPU plugin computes natively here ('FP32', 'INT8', 'BF16', ...)."""
    return list(core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))


class OpenVinoModel:
    """An ONNX file or OpenVINO IR in OpenVINO's CPU plugin, compiled once per input shape (static shapes
    run fastest), latency hint. ``precision`` is the precision of the float layers: 'f32' (kept: the plugin
    would otherwise pick bf16 on CPUs that have it) or 'bf16', refused with :class:`PrecisionUnavailable`
    where the plugin would not run it (it silently falls back to f32 on a CPU without BF16)."""

    def __init__(self, path: str, threads: Optional[int] = None, precision: str = 'f32'):
        import openvino as ov

        if precision not in OPENVINO_PRECISIONS:
            raise ValueError(f'precision must be one of {sorted(OPENVINO_PRECISIONS)}, got {precision!r}')
        self.core = ov.Core()
        self.path = path
        self.precision = precision
        capabilities = openvino_capabilities(self.core)
        if precision == 'bf16' and 'BF16' not in capabilities:
            raise PrecisionUnavailable(
                f'OpenVINO {precision}: this CPU lacks it (the CPU plugin reports {", ".join(capabilities)})'
            )
        self.config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': precision}
        if threads:
            self.config['INFERENCE_NUM_THREADS'] = int(threads)
        self._compiled = {}

    def _compiled_for(self, shape):
        if shape not in self._compiled:
            model = self.core.read_model(self.path)
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
            compiled = self.core.compile_model(model, 'CPU', self.config)
            effective = str(compiled.get_property('INFERENCE_PRECISION_HINT'))
            if OPENVINO_PRECISIONS[self.precision] not in effective:
                raise PrecisionUnavailable(
                    f'OpenVINO compiled the model in {effective}, not {self.precision}: this CPU does not run it'
                )
            self._compiled[shape] = compiled
        return self._compiled[shape]

    def __call__(self, images) -> List[np.ndarray]:
        array = as_float32_array(images)
        results = self._compiled_for(array.shape)(array)
        return [results[output] for output in self._compiled_for(array.shape).outputs]
