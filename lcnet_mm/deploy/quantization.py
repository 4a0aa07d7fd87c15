"""Post-training INT8 quantization of an exported model (see :mod:`.onnx_export`), for two CPU runtimes:

- ONNX Runtime: static QDQ quantization (``onnxruntime.quantization``): per-channel symmetric int8
  weights, uint8 activations with MinMax ranges from the calibration images. u8 x s8 is the pair the
  x86 VNNI instructions multiply, so it is the fast one; ORT fuses each QuantizeLinear-Conv-... chain into
  one ``QLinearConv``.
- OpenVINO: NNCF's post-training quantization of the OpenVINO model read from the same ONNX file
  (mixed preset: symmetric weights, asymmetric activations, which H-Swish's negative tail needs), written
  as OpenVINO IR (``.xml`` + ``.bin``).

Some layers lose accuracy in 8 bits and win no speed; they stay in float. Which ones is a list of *rules*
resolved on the ONNX graph, so that the same list serves every model (see :data:`KEEP_FLOAT_RULES`), plus
``module:REGEX`` items that name modules of the PyTorch model (``backbone.stem``, ``bbox_head.conv_cls``).
"""

import logging
import os
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Sequence

from .runtimes import OnnxRuntimeModel, OpenVinoModel, as_float32_array

MODULE_PREFIX = 'module:'
_COMPUTE_OPS = ('Conv', 'ConvTranspose', 'Gemm', 'MatMul')
_POOLING_OPS = ('GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax')
# Ops that keep a tensor "globally pooled" (1x1) when all their data inputs are.
_PASS_THROUGH_OPS = (
    'Relu', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Clip', 'Add', 'Mul', 'Flatten', 'Reshape', 'Squeeze',
    'Unsqueeze', 'Dropout', 'Identity', 'Cast',
)  # fmt: skip


class Graph:
    """What the keep-float rules look up in an ONNX graph (an ``onnx.ModelProto``'s), indexed once."""

    def __init__(self, onnx_model):
        self.graph = onnx_model.graph
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.weights = {init.name for init in self.graph.initializer}
        self.shapes = {init.name: list(init.dims) for init in self.graph.initializer}
        self.inputs = {i.name for i in self.graph.input}
        self.compute = [node for node in self.graph.node if node.op_type in _COMPUTE_OPS]


@dataclass(frozen=True)
class KeepFloatRule:
    """A rule for layers that INT8 keeps in float: what it selects (for help texts) and how."""

    help: str
    select: Callable[[Graph], list]  # -> the compute nodes it keeps in float


def _reads_the_input(graph: Graph) -> list:
    return [n for n in graph.compute if n.input and n.input[0] in graph.inputs]


def _reads_pooled_features(graph: Graph) -> list:
    pooled = _pooled_tensors(graph.graph, graph.weights)
    return [n for n in graph.compute if n.input and n.input[0] in pooled]


def _makes_an_output(graph: Graph) -> list:
    return _output_producers(graph.graph, graph.producer)


def _is_depthwise_conv(graph: Graph) -> list:
    return [n for n in graph.compute if _is_depthwise(n, graph.shapes)]


# Rules for the layers kept in float (resolved on the graph, model-agnostic); a new rule is one row.
KEEP_FLOAT_RULES = {
    # The first conv sees the raw normalised image, whose range one 8-bit scale covers badly; with 3 input
    # channels it is also the conv where int8 gains least.
    'stem': KeepFloatRule('convs that read the network input', _reads_the_input),
    # Convs on globally pooled features (squeeze-excitation gates, PP-LCNet's 1280-channel head conv) run
    # on 1x1 maps: no time to win, and a gate's error multiplies a whole feature map.
    'pooled': KeepFloatRule(
        'convs and matmuls on globally pooled (1x1) features: SE gates, the classifier head', _reads_pooled_features
    ),
    # The layers that produce the network's outputs (logits, box distances, centerness): their error is
    # the output's error, and ranking by score is sensitive to it.
    'outputs': KeepFloatRule('the last conv / matmul before each network output', _makes_an_output),
    # Depthwise convs do few multiply-adds per byte moved: in 8 bits they gain little, and OpenVINO's CPU
    # plugin runs them in f32 anyway (dequantizing their int8 input first); kept float, they skip the
    # quantize / dequantize steps around them.
    'depthwise': KeepFloatRule('depthwise convs (one input channel per group)', _is_depthwise_conv),
}
# Measured on the synthetic sets (docs/benchmarks.md): INT8 keeps FCOS's mAP within 0.003 of fp32 even with
# every layer quantized; keeping these four in float costs no accuracy and is the fastest in both runtimes.
DEFAULT_KEEP_FLOAT = ('stem', 'pooled', 'outputs', 'depthwise')


def keep_float_help() -> str:
    """The rules and the module form, for command-line help."""
    rules = '; '.join(f'{name}: {rule.help}' for name, rule in KEEP_FLOAT_RULES.items())
    return f'{rules}; {MODULE_PREFIX}REGEX: PyTorch modules whose name matches (e.g. {MODULE_PREFIX}backbone\\.stem)'


def check_keep_float(items: Iterable[str]) -> List[str]:
    """The items, validated: rule names or ``module:REGEX``."""
    items = list(items)
    for item in items:
        if item.startswith(MODULE_PREFIX):
            try:
                re.compile(item[len(MODULE_PREFIX) :])
            except re.error as error:
                raise ValueError(f'keep-float item {item!r}: not a regular expression ({error})') from None
        elif item not in KEEP_FLOAT_RULES:
            raise ValueError(
                f'keep-float item {item!r} is neither a rule ({", ".join(KEEP_FLOAT_RULES)}) '
                f'nor {MODULE_PREFIX}REGEX (a module name pattern, e.g. module:backbone\\.stem)'
            )
    return items


def node_module(node) -> str:
    """The PyTorch module an exported ONNX node belongs to (``backbone.stem.conv``), from the exporter's
    ``pkg.torch.onnx.name_scopes`` metadata, without the export wrapper's ``model.`` prefix; '' if unknown."""
    for prop in node.metadata_props:
        if prop.key == 'pkg.torch.onnx.name_scopes':
            scopes = [s.strip(' \'"') for s in prop.value.strip('[]').split(',')]
            module = scopes[-2] if len(scopes) >= 2 else ''
            return module[len('model.') :] if module.startswith('model.') else module
    return ''


def keep_float_nodes(onnx_model, items: Sequence[str]) -> Dict[str, List[str]]:
    """The names of the compute nodes (Conv, Gemm, MatMul) each keep-float item selects in ``onnx_model``
    (an ``onnx.ModelProto``)."""
    graph = Graph(onnx_model)
    selected = {}
    for item in check_keep_float(items):
        if item in KEEP_FLOAT_RULES:
            nodes = KEEP_FLOAT_RULES[item].select(graph)
        else:
            pattern = re.compile(item[len(MODULE_PREFIX) :])
            nodes = [n for n in graph.compute if pattern.search(node_module(n))]
        selected[item] = [n.name for n in nodes]
    return selected


def _is_depthwise(node, shapes) -> bool:
    group = next((attr.i for attr in node.attribute if attr.name == 'group'), 1)
    weight = shapes.get(node.input[1]) if node.op_type == 'Conv' and len(node.input) > 1 else None
    return group > 1 and weight is not None and weight[1] == 1


def _pooled_tensors(graph, weights) -> set:
    """Tensors computed from globally pooled features only (weights and constants aside)."""
    constants = weights | {out for node in graph.node if node.op_type == 'Constant' for out in node.output}
    pooled = set()
    for node in graph.node:  # ONNX graphs are topologically sorted
        data_inputs = [i for i in node.input if i and i not in constants]
        if node.op_type in _POOLING_OPS:
            pooled.update(node.output)
        elif node.op_type in _COMPUTE_OPS + _PASS_THROUGH_OPS and data_inputs:
            if all(i in pooled for i in data_inputs):
                pooled.update(node.output)
    return pooled


def _output_producers(graph, producer) -> list:
    """Walk back from every graph output through non-compute ops (reshapes, activations, scales) to the
    compute node that made it."""
    found, seen = [], set()
    stack = [o.name for o in graph.output]
    while stack:
        name = stack.pop()
        node = producer.get(name)
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.op_type in _COMPUTE_OPS:
            found.append(node)
        elif node.op_type not in _POOLING_OPS:
            stack.extend(node.input[:1] if node.op_type in ('Reshape', 'Expand', 'Tile') else node.input)
    return found


class _CalibrationReader:
    """``onnxruntime.quantization.CalibrationDataReader`` over a list of image batches."""

    def __init__(self, input_name: str, batches: Sequence):
        self.items = iter([{input_name: as_float32_array(batch)} for batch in batches])

    def get_next(self):
        return next(self.items, None)

    def rewind(self):  # never needed for MinMax; part of the reader interface
        raise NotImplementedError


def quantize_onnxruntime(onnx_path: str, out_path: str, batches: Sequence, keep_float=DEFAULT_KEEP_FLOAT) -> Dict:
    """Static QDQ INT8 quantization of ``onnx_path`` into ``out_path`` calibrated on ``batches`` (image
    tensors as the network takes them). Returns the nodes kept in float, by rule."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not batches:
        raise ValueError('quantization needs at least one calibration batch')
    model = onnx.load(onnx_path)
    kept = keep_float_nodes(model, keep_float)
    prepared = out_path + '.prepared.onnx'
    # Shape inference lets the quantizer see every tensor's type; ORT's own graph optimisation is skipped
    # because it renames nodes (the keep-float names must still match) and the session does it anyway.
    quant_pre_process(onnx_path, prepared, skip_optimization=True, skip_symbolic_shape=True)
    reader = _CalibrationReader(model.graph.input[0].name, batches)
    quantize_static(
        prepared,
        out_path,
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=sorted({name for names in kept.values() for name in names}),
        calibrate_method=CalibrationMethod.MinMax,
        extra_options=dict(WeightSymmetric=True, ActivationSymmetric=False),
    )
    os.remove(prepared)
    return kept


def quantize_openvino(onnx_path: str, out_xml: str, batches: Sequence, keep_float=DEFAULT_KEEP_FLOAT) -> Dict:
    """NNCF post-training INT8 quantization of the OpenVINO model read from ``onnx_path``, saved as IR
    ``out_xml`` (+ ``.bin``). Returns the nodes kept in float, by rule."""
    import nncf
    import onnx
    import openvino as ov

    if not batches:
        raise ValueError('quantization needs at least one calibration batch')
    nncf.set_log_level(logging.WARNING)  # its INFO lines list every layer it leaves alone
    kept = keep_float_nodes(onnx.load(onnx_path), keep_float)
    model = ov.Core().read_model(onnx_path)
    ignored = openvino_names(model, {name for names in kept.values() for name in names})
    quantized = nncf.quantize(
        model,
        nncf.Dataset([as_float32_array(batch) for batch in batches]),
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(batches),
        ignored_scope=nncf.IgnoredScope(names=sorted(ignored)) if ignored else None,
    )
    ov.save_model(quantized, out_xml, compress_to_fp16=False)
    return kept


def openvino_names(model, onnx_names: Iterable[str]) -> set:
    """The names of the OpenVINO ops that ONNX nodes became (a Conv with a bias becomes ``NAME/WithoutBiases``
    (the convolution) and ``NAME`` (the bias add)): the ops NNCF would quantize, i.e. the convolutions and
    matmuls."""
    wanted = set(onnx_names)
    found = set()
    for op in model.get_ops():
        name = op.get_friendly_name()
        base = name.split('/')[0]
        if base in wanted and op.get_type_name() in ('Convolution', 'GroupConvolution', 'MatMul'):
            found.add(name)
    return found


@dataclass(frozen=True)
class Int8Backend:
    """A runtime INT8 models are made for: how to quantize an ONNX file for it, the model file it writes, and
    the runtime that runs that file."""

    quantize: Callable  # (onnx_path, out_path, batches, keep_float) -> nodes kept in float, by rule
    suffix: str  # of the INT8 model file
    runtime: Callable  # (path, threads=...) -> images -> outputs


# Every INT8 back-end, one row each.
INT8_BACKENDS = {
    'onnxruntime': Int8Backend(quantize_onnxruntime, '.onnx', OnnxRuntimeModel),
    'openvino': Int8Backend(quantize_openvino, '.xml', OpenVinoModel),
}
BACKENDS = tuple(INT8_BACKENDS)
