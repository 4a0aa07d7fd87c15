"""tools/benchmark.py and lcnet_mm.benchmark: what is reported, not how fast anything is."""

import csv
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from conftest import hf_model_folder, load_tool
from lcnet_mm.benchmark import build_subject, pareto_front
from lcnet_mm.benchmark.measures import count_flops, interleaved_timings, peak_activation_bytes
from lcnet_mm.benchmark.run import _add_ratios
from lcnet_mm.benchmark.subjects import calibrate_norm_statistics
from lcnet_mm.models import PPLCNet

ROOT = Path(__file__).resolve().parents[1]
LCNET_CLS = str(ROOT / 'configs' / 'pplcnet' / 'pplcnet-x1.0_8xb256_in1k.py')
MNV3_CLS = str(ROOT / 'configs' / 'peers' / 'mobilenet-v3-large_8xb256_in1k.py')
TEXT_DET = str(ROOT / 'configs' / 'text_detection' / 'dbnet_pplcnetv3-x0.75_rsefpn_text-shapes.py')
HF_TEXT_DET = ROOT / 'tests' / 'fixtures' / 'hf_ppocr_det'


QUICK = [
    '--input-size',
    '64',
    '64',
    '--warmup',
    '1',
    '--rounds',
    '2',
    '--reps',
    '1',
    '--throughput-batch',
    '2',
    '--throughput-rounds',
    '1',
]


@pytest.mark.slow
def test_benchmark_reports_every_model_and_path(tmp_path, capsys):
    """Two classifiers on every path (a dynamic ONNX export costs half a minute here, so a third model, a backbone
    alone, takes the paths without one in a second run)."""
    out = tmp_path / 'bench'
    tool = load_tool('benchmark')
    status = tool.main(
        [
            LCNET_CLS,
            'timm:lcnet_100',
            '--paths',
            'eager',
            'folded',
            'jit',
            'onnxruntime',
            '--reference',
            'lcnet_100 (timm)',
            '--out-dir',
            str(out),
            *QUICK,
        ]
    )
    printed = capsys.readouterr()
    # timm's folded path cannot be taken (below): the tables are complete, and the exit status says so
    assert status == 1 and 'error: 1 of 8 model/path pairs were not timed' in printed.err
    printed = printed.out
    result = json.loads((out / 'results.json').read_text())
    rows = {(r['name'], r['path']): r for r in result['rows']}
    assert len(rows) == 8

    lcnet = rows[('pplcnet-x1.0_8xb256_in1k', 'eager')]
    assert lcnet['params_m'] == pytest.approx(2.95, abs=0.01)  # x1.0 classifier, 1000 classes
    assert lcnet['peak_memory_mib'] > lcnet['params_m'] * 4 * 1e6 / 2**20  # at least the fp32 weights
    assert 'aten::hardswish_' in lcnet['uncounted_ops']  # what FLOPs leave out is stated
    for key in ('latency_median_ms', 'latency_p90_ms', 'throughput_ips', 'ratio'):
        assert lcnet[key] > 0, key
    assert lcnet['latency_p90_ms'] >= lcnet['latency_median_ms']
    assert rows[('lcnet_100 (timm)', 'eager')]['ratio'] == 1.0  # the reference
    for name in ('pplcnet-x1.0_8xb256_in1k', 'lcnet_100 (timm)'):
        assert rows[(name, 'onnxruntime')]['max_abs_diff'] <= 1e-4
    assert rows[('pplcnet-x1.0_8xb256_in1k', 'folded')]['max_abs_diff'] <= 1e-4
    # timm's BatchNormAct2d cannot be folded by mmcv's fuse_conv_bn: reported, not timed
    assert 'BatchNormAct2d' in rows[('lcnet_100 (timm)', 'folded')]['note']
    assert rows[('lcnet_100 (timm)', 'folded')].get('latency_median_ms') is None
    assert lcnet['peak_memory_mib'] and rows[('pplcnet-x1.0_8xb256_in1k', 'jit')]['peak_memory_mib'] is None

    # every output file, consistent with the printed table
    assert '| pplcnet-x1.0_8xb256_in1k | eager |' in printed and 'FLOPs do not count' in printed
    assert (out / 'results.md').read_text().count('\n| ') == 1 + 8  # header + one line per row
    with open(out / 'results.csv') as f:
        assert len(list(csv.DictReader(f))) == 8
    assert (out / 'latency.png').stat().st_size > 10000
    assert sorted(p.name for p in (out / 'onnx').iterdir()) == [
        'lcnet_100__timm_.onnx',
        'pplcnet-x1.0_8xb256_in1k.onnx',
    ]

    # --part backbone: the backbone alone
    assert tool.main([MNV3_CLS, '--part', 'backbone', '--paths', 'eager', 'jit', '--out-dir', str(out), *QUICK]) == 0
    rows = {(r['name'], r['path']): r for r in json.loads((out / 'results.json').read_text())['rows']}
    backbone = rows[('mobilenet-v3-large_8xb256_in1k [backbone]', 'eager')]
    assert backbone['params_m'] == pytest.approx(2.97, abs=0.01)  # no head
    # torch's optimize_for_inference fails on MobileNetV3's HSigmoid: the row says so and freeze-only is timed
    mnv3_jit = rows[('mobilenet-v3-large_8xb256_in1k [backbone]', 'jit')]
    assert 'freeze only' in mnv3_jit['note'] and mnv3_jit['latency_median_ms'] > 0


def test_bad_arguments_are_named(tmp_path, capsys):
    tool = load_tool('benchmark')
    for argv, message in (
        ([str(tmp_path / 'nope.py')], 'nope.py'),
        ([LCNET_CLS, '--checkpoints', 'a.pth', 'b.pth'], 'one value per model'),
        ([LCNET_CLS, '--checkpoints', str(tmp_path / 'missing.pth')], 'missing.pth'),
        ([LCNET_CLS, '--input-size', '16', '16'], 'at least 32x32'),
        ([LCNET_CLS, '--paths', 'tensorrt'], 'tensorrt'),
        ([f'transformers:{tmp_path / "nope"}'], 'no such Transformers model folder'),
    ):
        with pytest.raises(SystemExit):
            tool.parse_args(argv)
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match='timm has no model'):
        build_subject('timm:no_such_net')
    # refused before anything is built or timed
    with pytest.raises(ValueError, match=r"--reference 'ghost' names no row of this run; rows are \['pplcnet"):
        tool.main([LCNET_CLS, '--reference', 'ghost', '--out-dir', str(tmp_path / 'ghost'), '--no-eval', *QUICK])
    with pytest.raises(ValueError, match=r"--reference 'pplcnet-x1.0_8xb256_in1k@jit' names no row of this run"):
        tool.main([LCNET_CLS, '--reference', 'pplcnet-x1.0_8xb256_in1k@jit', '--paths', 'eager', *QUICK])
    assert not (tmp_path / 'ghost').exists()


def test_the_text_detector_takes_the_deploy_paths_with_its_probability_map(tmp_path, capsys):
    """PPLCNetV3 (re-parameterisable convs, learnable affines) + RSEFPN + DB head: folded, ONNX Runtime and
    OpenVINO compute eager's probability map."""
    out = tmp_path / 'bench'
    paths = ['eager', 'folded', 'onnxruntime', 'openvino']
    status = load_tool('benchmark').main([TEXT_DET, '--paths', *paths, '--out-dir', str(out), *QUICK])
    assert status == 0, capsys.readouterr().out
    rows = json.loads((out / 'results.json').read_text())['rows']
    assert [r['path'] for r in rows] == paths
    assert all(r['latency_median_ms'] > 0 and not r.get('note') for r in rows), rows


def test_a_transformers_model_folder_is_a_subject_or_named_without_transformers(tmp_path):
    """Transformers is not a dependency: with it installed beside the project, its model is timed eagerly on the
    same input; without it, the subject names the missing package."""
    folder = hf_model_folder(HF_TEXT_DET, tmp_path / 'PP-OCRv5_mobile_det_safetensors')
    if importlib.util.find_spec('transformers') is None:
        with pytest.raises(ValueError, match='the transformers package is not installed'):
            build_subject(f'transformers:{folder}')
    else:
        subject = build_subject(f'transformers:{folder}')
        assert subject.name == 'PP-OCRv5_mobile_det_safetensors (Transformers)'
        (probability,) = subject.network(torch.randn(1, 3, 64, 96))
        assert probability.shape == (1, 1, 64, 96)
    with pytest.raises(ValueError, match='give no checkpoint'):
        build_subject(f'transformers:{folder}', checkpoint='x.pth')
    with pytest.raises(ValueError, match='expected a Transformers model folder with config.json and model.safetensors'):
        build_subject(f'transformers:{tmp_path}')


def test_a_reference_row_that_could_not_be_timed_is_refused():
    rows = [
        dict(name='a', path='eager', latency_median_ms=2.0),
        dict(name='a', path='folded', latency_median_ms=None),
    ]
    with pytest.raises(ValueError, match=r"--reference 'a@folded' names no timed row; rows are \['a@eager'\]"):
        _add_ratios(rows, 'a@folded')
    _add_ratios(rows, 'a')
    assert rows[0]['ratio'] == 1.0 and rows[0]['reference'] == 'a@eager'


def test_flops_of_pp_lcnet_match_the_paper():
    network = build_subject(LCNET_CLS).network
    flops = count_flops(network, torch.randn(1, 3, 224, 224))
    assert flops['flops'] / 1e6 == pytest.approx(161, rel=0.01)  # the paper's table: 161 M for x1.0


def test_peak_memory_grows_with_the_batch():
    backbone = PPLCNet().eval()
    one = peak_activation_bytes(backbone, torch.randn(1, 3, 128, 128))
    four = peak_activation_bytes(backbone, torch.randn(4, 3, 128, 128))
    assert one > 0 and 3.5 < four / one < 4.5


def test_interleaving_alternates_and_counts_calls():
    calls = []
    runners = {name: (lambda name=name: calls.append(name)) for name in 'abc'}
    samples = interleaved_timings(runners, warmup=2, rounds=2, reps=3)
    assert {k: len(v) for k, v in samples.items()} == {'a': 6, 'b': 6, 'c': 6}
    timed = calls[6:]  # after 2 warm-up calls each
    assert timed == ['a'] * 4 + ['b'] * 4 + ['c'] * 4 + ['c'] * 4 + ['b'] * 4 + ['a'] * 4  # 1 settle + 3 timed


def test_pareto_front():
    # (latency, accuracy): the third is slower and worse than the first
    assert pareto_front([(1.0, 0.5), (2.0, 0.7), (3.0, 0.4), (0.5, 0.1)], maximize_y=True) == [0, 1, 3]
    assert pareto_front([(1.0, 5.0), (2.0, 1.0), (3.0, 6.0)], maximize_y=False) == [0, 1]


def test_calibration_gives_random_networks_real_activations():
    backbone = PPLCNet().eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        before = backbone(x)[-1].abs().max()
        assert calibrate_norm_statistics(backbone, (128, 128)) == 27
        after = backbone(x)[-1].abs().max()
    assert before < 1e-3 < 0.1 < after  # fresh BN statistics let activations vanish layer after layer


def test_output_difference_is_relative_only_above_one():
    from lcnet_mm.deploy import output_difference

    small = torch.tensor([0.5, -0.2])
    assert output_difference([small + 1e-3], [small]) == pytest.approx((1e-3, 1e-3), rel=1e-4)
    boxes = torch.tensor([200.0, 10.0])  # pixels: 2e-2 off is 1e-4 of the largest value
    assert output_difference([boxes + 2e-2], [boxes]) == pytest.approx((2e-2, 1e-4), rel=1e-3)
    assert output_difference([small], [small, small]) == (float('inf'), float('inf'))


def test_folding_unties_convs_shared_by_levels_with_their_own_norms():
    """RTMDet's head shares each conv between levels, each level with its own BN: the folded network must give
    every level its own folded conv, not one conv folded with every BN in turn."""
    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.paths import folded_network
    from lcnet_mm.benchmark.subjects import calibrate_norm_statistics
    from lcnet_mm.deploy import RawOutputs

    model, _ = build_model_from_config(
        str(Path(__file__).resolve().parents[1] / 'configs' / 'demos' / 'rtmdet_shapes.py')
    )
    model.init_weights()
    calibrate_norm_statistics(model.backbone)
    network = RawOutputs(model.eval())
    images = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        for ours, reference in zip(folded_network(network)(images), network(images)):
            torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_compile_path_matches_eager_and_reports_compile_time_and_graph_breaks():
    """The compiled path of a detector (mmdet's FCOS head on PP-LCNet) runs up to the raw head outputs (no
    decoding or NMS in the graph), computes what eager computes, and says what compiling cost."""
    from lcnet_mm.benchmark.paths import compiled_runner
    from lcnet_mm.deploy import output_difference

    options = {'model.backbone.scale': 0.25, 'model.neck.in_channels': [32, 64, 128]}
    subject = build_subject(str(ROOT / 'configs' / 'lcnet_fcos.py'), cfg_options=options)
    images = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        expected = subject.network(images)
    run = compiled_runner(subject.network, images)
    assert run.compile_s > 0 and run.note.startswith('compile: ') and 'graph break' in run.note
    outputs = run(images)
    assert len(outputs) == len(expected) == 9  # cls_scores, bbox_preds, centerness at three levels
    _, scaled = output_difference(outputs, expected)
    assert scaled <= 1e-3
