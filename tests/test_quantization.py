"""INT8 quantization (ONNX Runtime QDQ, OpenVINO NNCF), BF16 paths and their accuracy in the benchmark:
what is computed and reported, not how fast."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import load_tool
from lcnet_mm.benchmark import build_subject
from lcnet_mm.benchmark import paths as bench_paths
from lcnet_mm.benchmark.accuracy import ACCURACY_TOLERANCE, evaluate_runtime
from lcnet_mm.benchmark.paths import PathInputs, build_path
from lcnet_mm.deploy import (
    DEFAULT_KEEP_FLOAT,
    OnnxRuntimeModel,
    OpenVinoModel,
    PrecisionUnavailable,
    check_keep_float,
    export_onnx,
    keep_float_nodes,
    quantize_onnxruntime,
    quantize_openvino,
)
from lcnet_mm.deploy import runtimes as deploy_runtimes
from lcnet_mm.deploy.quantization import node_module

ROOT = Path(__file__).resolve().parents[1]
CLS_SHAPES = str(ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py')
# A quantized network with 8-bit activations and per-channel weights, calibrated on inputs like the test
# input: every output within this fraction of the largest fp32 output (measured: 3-6%).
INT8_OUTPUT_TOLERANCE = 0.15


@pytest.fixture(scope='module')
def tiny_classifier(tmp_path_factory):
    """PP-LCNet x0.25 classifier at 64x64 with random weights and BN statistics of its own activations,
    exported to ONNX; (subject, onnx path, calibration batches, a test batch)."""
    out = tmp_path_factory.mktemp('tiny')
    subject = build_subject(CLS_SHAPES, cfg_options={'model.backbone.scale': 0.25, 'model.head.in_channels': 128})
    path = str(out / 'tiny.onnx')
    export_onnx(subject.model, path, (64, 64))
    generator = torch.Generator().manual_seed(3)
    calibration = [torch.randn(1, 3, 64, 64, generator=generator) for _ in range(4)]
    test = torch.randn(2, 3, 64, 64, generator=generator)
    return subject, path, calibration, test


def _relative_error(outputs, reference) -> float:
    return float(np.abs(np.asarray(outputs[0]) - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_int8_outputs_stay_close_to_fp32(tiny_classifier, backend, tmp_path):
    subject, path, calibration, test = tiny_classifier
    with torch.no_grad():
        reference = subject.network(test)[0].numpy()
    if backend == 'onnxruntime':
        out = str(tmp_path / 'int8.onnx')
        kept = quantize_onnxruntime(path, out, calibration)
        quantized = onnx.load(out)
        # really quantized: int8 convs, and the kept layers read float weights
        assert sum(n.op_type == 'DequantizeLinear' for n in quantized.graph.node) > 20
        model = OnnxRuntimeModel(out, threads=1)
    else:
        out = str(tmp_path / 'int8.xml')
        kept = quantize_openvino(path, out, calibration)
        import openvino as ov

        fake_quantize = [op for op in ov.Core().read_model(out).get_ops() if op.get_type_name() == 'FakeQuantize']
        assert len(fake_quantize) > 10
        model = OpenVinoModel(out, threads=1)
    assert kept == keep_float_nodes(onnx.load(path), DEFAULT_KEEP_FLOAT)
    error = _relative_error(model(test), reference)
    assert 0 < error < INT8_OUTPUT_TOLERANCE  # not fp32 any more, and still the same function


def test_keep_float_rules_select_the_sensitive_layers(tiny_classifier, tmp_path):
    subject, path, calibration, _ = tiny_classifier
    graph = onnx.load(path)
    modules = {n.name: node_module(n) for n in graph.graph.node}
    kept = keep_float_nodes(graph, ['stem', 'pooled', 'outputs', r'module:^backbone\.stages\.0\.'])
    assert [modules[n] for n in kept['stem']] == ['backbone.stem.conv']
    assert sorted(modules[n] for n in kept['pooled']) == [
        'backbone.stages.4.0.se.excite.conv',
        'backbone.stages.4.0.se.squeeze.conv',
        'backbone.stages.4.1.se.excite.conv',
        'backbone.stages.4.1.se.squeeze.conv',
        'head.fc',
        'head.head_conv.conv',
    ]
    assert [modules[n] for n in kept['outputs']] == ['head.fc']
    assert kept[r'module:^backbone\.stages\.0\.'] and all(
        modules[n].startswith('backbone.stages.0.') for n in kept[r'module:^backbone\.stages\.0\.']
    )
    # The kept nodes really stay float in ONNX Runtime's graph: their weight input is no DequantizeLinear.
    out = str(tmp_path / 'int8.onnx')
    quantize_onnxruntime(path, out, calibration, keep_float=['stem'])
    quantized = onnx.load(out)
    producers = {o: n for n in quantized.graph.node for o in n.output}
    stem = next(n for n in quantized.graph.node if n.name == kept['stem'][0])
    assert stem.input[1] not in producers or producers[stem.input[1]].op_type != 'DequantizeLinear'
    others = [n for n in quantized.graph.node if n.op_type == 'Conv' and n.name != stem.name]
    assert all(producers[n.input[1]].op_type == 'DequantizeLinear' for n in others)


def test_bad_keep_float_items_are_named():
    with pytest.raises(ValueError, match=r"'heads' is neither a rule \(stem, pooled, outputs, depthwise\)"):
        check_keep_float(['stem', 'heads'])
    with pytest.raises(ValueError, match='not a regular expression'):
        check_keep_float(['module:backbone.(stem'])
    with pytest.raises(ValueError, match='at least one calibration batch'):
        quantize_onnxruntime('unused.onnx', 'unused-int8.onnx', [])


def test_missing_bf16_is_reported_not_faked(tiny_classifier, monkeypatch, tmp_path):
    subject, path, _, test = tiny_classifier
    monkeypatch.setattr(bench_paths, 'native_bf16_features', lambda: ())
    with pytest.raises(PrecisionUnavailable, match='eager BF16: this CPU has none of avx512_bf16, amx_bf16'):
        build_path('eager-bf16', subject, PathInputs(test, 1, str(tmp_path)))
    monkeypatch.setattr(deploy_runtimes, 'openvino_capabilities', lambda core: ['FP32', 'INT8'])
    with pytest.raises(PrecisionUnavailable, match='OpenVINO bf16: this CPU lacks it'):
        OpenVinoModel(path, precision='bf16')


@pytest.mark.slow
def test_benchmark_scores_every_path_with_the_toolbox_metric(tmp_path, capsys, monkeypatch, mmpretrain_scope):
    """With a checkpoint, eager accuracy is what the toolbox's runner gives (tools/test.py); scoring raw
    outputs through the model's own post-processing (evaluate_runtime) gives the same; every low-precision
    path gets its own accuracy and its fall from eager fp32; BF16 where this CPU has it, else 'unavailable'
    (which is not an error); a fall beyond the tolerance is flagged and fails the run."""
    settings = {'num_images': 20, 'data_root': str(tmp_path / 'data')}
    data = [f'{split}_dataloader.dataset.{k}={v}' for split in ('val', 'test') for k, v in settings.items()]
    checkpoint = tmp_path / 'random.pth'
    torch.save({'state_dict': build_subject(CLS_SHAPES).model.state_dict()}, checkpoint)
    # Flag every path that is not better than eager: the run must say so and exit 1.
    monkeypatch.setitem(ACCURACY_TOLERANCE, 'accuracy/top1', -1e-9)
    low = ['eager-bf16', 'onnxruntime-int8', 'openvino-int8', 'openvino-bf16']
    status = load_tool('benchmark').main(
        [CLS_SHAPES, '--checkpoints', str(checkpoint), '--out-dir', str(tmp_path / 'b'), '--calib', '4']
        + ['--paths', 'eager', 'onnxruntime', *low, '--cfg-options', *data, '--input-size', '64', '64']
        + ['--warmup', '1', '--rounds', '2', '--reps', '1', '--throughput-batch', '0']
    )
    rows = {r['path']: r for r in json.loads((tmp_path / 'b' / 'results.json').read_text())['rows']}
    eager = rows['eager']['accuracy']
    assert rows['eager']['metric'] == 'accuracy/top1' and rows['onnxruntime']['accuracy'] == eager
    # tools/test.py's loader in this process: persistent worker processes left behind by a test crash a
    # later test's fork (a segfault, seen with the tests that start subprocesses).
    workers = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    test_argv = [CLS_SHAPES, str(checkpoint), '--work-dir', str(tmp_path / 't'), '--cfg-options', *data, *workers]
    metrics = load_tool('test').main(test_argv)
    assert eager == pytest.approx(metrics['accuracy/top1'])
    options = {f'{split}_dataloader.dataset.{k}': v for split in ('val', 'test') for k, v in settings.items()}
    subject = build_subject(CLS_SHAPES, str(checkpoint), cfg_options=options)
    runner = build_path('eager', subject, PathInputs(torch.randn(1, 3, 64, 64), 1, str(tmp_path)))
    assert evaluate_runtime(subject, runner, str(tmp_path / 'eval')) == ('accuracy/top1', pytest.approx(eager))
    for path in low:
        row = rows[path]
        if row.get('unavailable'):  # a CPU without BF16
            assert path.endswith('bf16') and row['note'].startswith('unavailable: ') and row['accuracy'] is None
            continue
        assert row['latency_median_ms'] > 0 and row['metric'] == 'accuracy/top1'
        assert row['accuracy_drop'] == pytest.approx(eager - row['accuracy'])
        assert ('ACCURACY LOSS' in row.get('note', '')) == (row['accuracy_drop'] > -1e-9)
        if path.endswith('int8'):
            assert 'calibrated on 4 validation images' in row['note']
    lossy = [p for p in low if rows[p].get('accuracy_loss')]
    assert status == (1 if lossy else 0)
    assert ('accuracy below eager fp32' in capsys.readouterr().err) == bool(lossy)


def test_quantize_tool_writes_the_model_and_scores_it(tmp_path, capsys, mmpretrain_scope):
    settings = {'num_images': 10, 'data_root': str(tmp_path / 'data')}
    data = [f'{split}_dataloader.dataset.{k}={v}' for split in ('val', 'test') for k, v in settings.items()]
    tiny = ['model.backbone.scale=0.25', 'model.head.in_channels=128']
    checkpoint = tmp_path / 'random.pth'
    subject = build_subject(CLS_SHAPES, cfg_options={'model.backbone.scale': 0.25, 'model.head.in_channels': 128})
    torch.save({'state_dict': subject.model.state_dict()}, checkpoint)
    out = tmp_path / 'q'
    argv = [CLS_SHAPES, str(checkpoint), str(out), '--backend', 'openvino', '--calib', '2', '--keep-float', 'stem']
    status = load_tool('quantize').main(argv + ['--cfg-options', *data, *tiny])
    record = json.loads((out / 'quantization.json').read_text())
    assert (out / 'lcnet_cls_shapes-int8.xml').is_file() and (out / 'lcnet_cls_shapes-int8.bin').is_file()
    assert record['calibration_images'] == 2 and record['keep_float'] == ['stem'] and 'stem 1' in record['note']
    assert record['drop'] == pytest.approx(record['fp32'] - record['int8'])
    assert status == (1 if record['drop'] > record['tolerance'] else 0)
    assert f'| int8 | {record["int8"]:.4f} |' in capsys.readouterr().out

    tool = load_tool('quantize')
    for bad, message in (
        (['--backend', 'tensorrt'], "invalid choice: 'tensorrt'"),
        (['--backend', 'openvino', '--calib', '0'], '--calib must be at least 1, got 0'),
        (['--backend', 'openvino', '--keep-float', 'heads'], "'heads' is neither a rule"),
    ):
        with pytest.raises(SystemExit):
            tool.parse_args([CLS_SHAPES, str(checkpoint), str(out), *bad])
        assert message in capsys.readouterr().err
