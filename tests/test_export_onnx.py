"""ONNX export of classifiers and detectors: dynamic shapes, parity with PyTorch, runtimes, decoding."""

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conftest import load_tool
from lcnet_mm.apis import build_model_from_config
from lcnet_mm.benchmark.subjects import calibrate_norm_statistics
from lcnet_mm.deploy import (
    OnnxRuntimeModel,
    OpenVinoModel,
    decode_detections,
    example_input,
    export_onnx,
    keep_float_nodes,
    model_outputs,
    onnx_parity,
)
from lcnet_mm.deploy.quantization import node_module

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = str(ROOT / 'configs' / 'pplcnet' / 'pplcnet-x0.5_8xb256_in1k.py')
DETECTOR = str(ROOT / 'configs' / 'lcnet_fcos.py')


def realistic(config):
    """The config's model with its own initialisation and real BN statistics: outputs of a realistic scale.

    Seeded: the output scale of an unseeded draw ranges over 0.09-0.45, so a scale check would be a coin toss.
    """
    torch.manual_seed(0)
    model, _ = build_model_from_config(config)
    model.init_weights()
    calibrate_norm_statistics(model.backbone)
    return model.eval()


def checkpoint_of(model, path):
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


@pytest.fixture(scope='module')
def classifier_onnx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cls_onnx')
    model = realistic(CLASSIFIER)
    path = tmp / 'cls.onnx'
    names = export_onnx(model, str(path), (224, 224))
    return model, str(path), names


def test_classifier_export_is_dynamic_and_matches_pytorch(classifier_onnx):
    model, path, names = classifier_onnx
    assert names == ['logits']
    graph = onnx.load(path).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert graph.input[0].name == 'images'
    assert [d.HasField('dim_value') for d in dims] == [False, True, False, False]  # N, H, W symbolic
    results = onnx_parity(model, path, [(1, 3, 224, 224), (3, 3, 160, 288)])
    for result in results:
        assert result['max_abs_output'] > 0.1
        assert result['max_abs_diff'] <= 1e-4, result['shape']
    assert results[1]['outputs'][0].shape == (3, 1000)


def test_openvino_runs_the_same_graph(classifier_onnx):
    model, path, _ = classifier_onnx
    images = example_input((192, 224), batch_size=2, seed=3)
    expected = model_outputs(model, images)[0].numpy()
    for runtime in (OnnxRuntimeModel(path, threads=2), OpenVinoModel(path, threads=2)):
        assert np.abs(runtime(images)[0] - expected).max() <= 1e-4


def test_parity_check_detects_a_different_model(classifier_onnx):
    model, path, _ = classifier_onnx
    other = realistic(CLASSIFIER)
    with torch.no_grad():
        other.head.fc.weight.mul_(1.5)
    assert onnx_parity(other, path, [(1, 3, 224, 224)])[0]['max_abs_diff'] > 1e-3


def test_export_tool_detector_with_decoding(tmp_path, capsys):
    model = realistic(DETECTOR)
    checkpoint = checkpoint_of(model, tmp_path / 'fcos.pth')
    out = tmp_path / 'fcos.onnx'
    # An untrained head scores every location about 0.01 (its prior): keep them all to compare boxes.
    rc = load_tool('export_onnx').main(
        [DETECTOR, checkpoint, str(out), '--input-size', '256', '224', '--cfg-options', 'model.test_cfg.score_thr=0.0']
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert 'cls_scores.0' in printed and 'score_factors.2' in printed
    assert 'FAILED' not in printed
    assert len([line for line in printed.splitlines() if 'parity' in line and ') ok (' in line]) == 2
    assert len([line for line in printed.splitlines() if 'decoded + NMS: [100' in line and line.endswith('ok')]) == 2

    session = OnnxRuntimeModel(str(out))
    images = example_input((288, 320), batch_size=2, seed=5)
    outputs = session(images.numpy())
    assert [o.shape[-2:] for o in outputs[:3]] == [(36, 40), (18, 20), (9, 10)]  # strides 8 / 16 / 32
    model.bbox_head.test_cfg['score_thr'] = 0.0
    decoded = decode_detections(model, outputs, (288, 320))
    reference = decode_detections(model, model_outputs(model, images), (288, 320))
    assert len(decoded) == 2 and [len(d) for d in decoded] == [len(r) for r in reference] == [100, 100]
    for d, r in zip(decoded, reference):
        assert d.bboxes.shape[-1] == 4 and d.scores.shape == d.labels.shape
        torch.testing.assert_close(d.bboxes, r.bboxes, rtol=1e-4, atol=1e-3)

    # INT8's 'outputs' rule (layers kept in float) finds the three output convs of every level in this graph.
    graph = onnx.load(str(out))
    modules = {n.name: node_module(n) for n in graph.graph.node}
    kept = sorted(modules[n] for n in keep_float_nodes(graph, ['outputs'])['outputs'])
    assert kept == sorted([f'bbox_head.{conv}' for conv in ('conv_cls', 'conv_reg', 'conv_centerness')] * 3)


def test_export_tool_rejects_two_stage_detectors_and_bad_input(tmp_path):
    tool = load_tool('export_onnx')
    config = str(ROOT / 'configs' / 'faster_rcnn' / 'faster-rcnn_pplcnet-x1.0_fpn_1x_coco.py')
    with pytest.raises(ValueError, match='single-stage'):
        tool.main([config, 'none', str(tmp_path / 'frcnn.onnx')])
    with pytest.raises(SystemExit):
        tool.parse_args([DETECTOR, 'none', str(tmp_path / 'x.onnx'), '--input-size', '16', '16'])
    with pytest.raises(SystemExit):
        tool.parse_args([DETECTOR, 'none', str(tmp_path / 'x.txt')])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool.main([DETECTOR, str(tmp_path / 'missing.pth'), str(tmp_path / 'x.onnx')])


def test_export_tool_picodet_raw_maps_and_decoding(tmp_path, capsys):
    """PicoDet exports as its raw maps (scores as probabilities, box distributions as logits, four levels);
    decoding them with the config's test_cfg gives PyTorch's detections. Static shapes: a dynamic PicoDet export
    takes a minute in torch's decompositions (12 s static); dynamic shapes are the FCOS test's above."""
    config = str(ROOT / 'configs' / 'demos' / 'picodet_shapes.py')
    model = realistic(config)
    out = tmp_path / 'picodet.onnx'
    rc = load_tool('export_onnx').main(
        [
            config,
            checkpoint_of(model, tmp_path / 'picodet.pth'),
            str(out),
            '--input-size',
            '320',
            '256',
            '--static',
            '--cfg-options',
            'model.test_cfg.score_thr=0.0',
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert 'cls_scores.3' in printed and 'bbox_preds.3' in printed and 'FAILED' not in printed

    outputs = OnnxRuntimeModel(str(out))(example_input((320, 256), batch_size=1, seed=3).numpy())
    assert [o.shape[-2:] for o in outputs[:4]] == [(40, 32), (20, 16), (10, 8), (5, 4)]  # strides 8 .. 64
    assert all(0 <= o.min() and o.max() <= 1 for o in outputs[:4])  # scores are probabilities
    model.bbox_head.test_cfg['score_thr'] = 0.0
    images = example_input((320, 256), batch_size=1, seed=3)
    decoded = decode_detections(model, outputs, (320, 256))
    reference = decode_detections(model, model_outputs(model, images), (320, 256))
    assert len(decoded[0]) == len(reference[0]) == 100
    torch.testing.assert_close(decoded[0].bboxes, reference[0].bboxes, rtol=1e-4, atol=1e-3)


# One model of each kind the shipped demos and the main job build; the demos not named here build one of these
# (another width, another schedule): the test below checks that.
EXPORTED_DEMOS = (
    'lcnet_fcos.py',
    'demos/lcnet_cls_shapes.py',
    'demos/lcnet_v2_cls_shapes.py',
    'demos/lcnet_deeplabv3plus_shapes.py',
    'demos/picodet_shapes.py',
    'demos/rtmdet_shapes.py',
    'demos/mobilenetv2_fcos.py',
)


def _kinds(config):
    model, _ = build_model_from_config(str(ROOT / 'configs' / config))
    return tuple(type(module).__name__ for module in model.children())


def test_every_demo_builds_a_kind_of_model_that_the_export_test_covers():
    covered = {_kinds(config) for config in EXPORTED_DEMOS}
    demos = sorted(p.relative_to(ROOT / 'configs').as_posix() for p in (ROOT / 'configs' / 'demos').glob('*.py'))
    assert demos and all(_kinds(config) in covered for config in demos)


def trained_like_model(config):
    """The config's model as training leaves it: every norm with its own affine parameters and the running statistics
    of training-mode forwards (so that folding changes the arithmetic), outputs of a trained scale."""
    from torch.nn.modules.batchnorm import _BatchNorm

    model, _ = build_model_from_config(str(ROOT / 'configs' / config))
    model.init_weights()
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.weight.data = torch.rand(module.weight.shape, generator=generator) + 0.5
            module.bias.data = torch.randn(module.bias.shape, generator=generator) * 0.3
            module.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3, 128, 128, generator=generator) * 1.5, mode='tensor')
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize('config', EXPORTED_DEMOS)
def test_every_demo_exports_within_the_default_tolerance(tmp_path, config):
    """What tools/export_onnx.py checks, on each kind of shipped model with trained-like weights: every kind of output
    within the tool's default tolerance of its scale after folding and export (FCOS and the classifiers: about 1e-6)."""
    from lcnet_mm.deploy import ONNX_TOLERANCE

    model = trained_like_model(config)
    export_onnx(model, str(tmp_path / 'model.onnx'), (128, 160), dynamic=False)
    for result in onnx_parity(model, str(tmp_path / 'model.onnx'), [(1, 3, 128, 160)]):
        worst = max(result['by_kind'], key=lambda row: row['relative'])
        assert worst['relative'] <= ONNX_TOLERANCE, result['by_kind']
