"""Every tool exits non-zero when it fails, so that scripts and CI notice (run as a user would run them)."""

from pathlib import Path

import pytest
import torch

from test_deploy import trained_like
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py'


def tool(name, *args, cwd=None):
    return run_tool(name, *args, cwd=cwd, timeout=300)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A classifier with real BN statistics: its folded form differs from it by float rounding, not zero."""
    from lcnet_mm.apis import build_model_from_config

    model, _ = build_model_from_config(str(CLASSIFIER))
    trained_like(model.backbone)
    model.head.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'trained.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_benchmark_exits_1_when_a_pair_was_not_timed(tmp_path):
    # timm's BatchNormAct2d cannot be folded: the row is written, the exit status says it was not timed
    proc = tool(
        'benchmark',
        'timm:lcnet_050',
        '--paths',
        'eager',
        'folded',
        '--input-size',
        '64',
        '64',
        '--warmup',
        '1',
        '--rounds',
        '1',
        '--reps',
        '1',
        '--throughput-batch',
        '0',
        '--out-dir',
        tmp_path,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'error: 1 of 2 model/path pairs were not timed' in proc.stderr and 'lcnet_050 (timm) / folded' in proc.stderr
    assert (tmp_path / 'results.md').is_file()


def test_switch_to_deploy_exits_1_and_writes_nothing_beyond_its_tolerance(tmp_path, checkpoint):
    out = tmp_path / 'folded.pth'
    # any float rounding at all exceeds a tolerance of 0
    proc = tool('switch_to_deploy', CLASSIFIER, checkpoint, out, '--input-size', '64', '64', '--tolerance', '0')
    assert proc.returncode == 1 and 'not written' in proc.stderr and not out.exists()
    proc = tool('switch_to_deploy', CLASSIFIER, checkpoint, out, '--input-size', '64', '64')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.is_file()


def test_export_onnx_exits_1_when_parity_fails(tmp_path, checkpoint):
    out = tmp_path / 'cls.onnx'
    proc = tool('export_onnx', CLASSIFIER, checkpoint, out, '--input-size', '64', '64', '--static', '--tolerance', '0')
    assert proc.returncode == 1 and 'FAILED' in proc.stdout
    # as switch_to_deploy: a graph that failed its check is not left behind, nor its temporary file
    assert 'not written' in proc.stderr and not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    'name, args',
    [
        ('convert_weights', ['not-a-file.pdparams', 'out.pth']),
        ('train', ['configs/nope.py']),
        ('test', [str(CLASSIFIER), 'missing.pth']),
        ('benchmark', ['configs/nope.py']),
    ],
)
def test_tools_exit_non_zero_on_bad_input(tmp_path, name, args):
    proc = tool(name, *args, cwd=tmp_path)
    assert proc.returncode != 0
    assert any(part in proc.stderr for part in ('not-a-file.pdparams', 'nope.py', 'missing.pth'))
