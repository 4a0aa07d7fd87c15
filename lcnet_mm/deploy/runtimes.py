"""ONNX models in ONNX Runtime and OpenVINO, fp32 on the CPU, callable like ``model(images) -> outputs``."""

from typing import List, Optional

import numpy as np


def _as_numpy(images) -> np.ndarray:
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
        return self.session.run(None, {self.input_name: _as_numpy(images)})


class OpenVinoModel:
    """An ONNX file in OpenVINO's CPU plugin, compiled once per input shape (static shapes run fastest),
    latency hint, fp32 kept (the plugin would otherwise pick bf16 on CPUs that have it)."""

    def __init__(self, path: str, threads: Optional[int] = None):
        import openvino as ov

        self.core = ov.Core()
        self.path = path
        self.config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32'}
        if threads:
            self.config['INFERENCE_NUM_THREADS'] = int(threads)
        self._compiled = {}

    def _compiled_for(self, shape):
        if shape not in self._compiled:
            model = self.core.read_model(self.path)
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
            self._compiled[shape] = self.core.compile_model(model, 'CPU', self.config)
        return self._compiled[shape]

    def __call__(self, images) -> List[np.ndarray]:
        array = _as_numpy(images)
        results = self._compiled_for(array.shape)(array)
        return [results[output] for output in self._compiled_for(array.shape).outputs]
