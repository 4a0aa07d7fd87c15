"""Faster CPU training: BF16 autocast (CpuAmpOptimWrapper, tools/train.py --amp), channels-last activations
(TrainingModeHook, whose choice is tested in test_training_mode.py), and the training-throughput benchmark.
The speed itself is measured by tools/benchmark_train.py, not here; these tests check behaviour."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from lcnet_mm import CpuAmpOptimWrapper, PPLCNet, TrainingModeHook
from lcnet_mm.apis import enable_amp
from lcnet_mm.engine import cpu_amp_optim_wrapper
from lcnet_mm.models.layers import DepthwiseSeparable
from lcnet_mm.utils import cpu_flags, native_bf16_features
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]
HAS_BF16 = bool(native_bf16_features())


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n')
    flags = cpu_flags(str(cpuinfo))
    assert {'avx512f', 'avx512_bf16'} <= flags
    assert native_bf16_features(flags) == ('avx512_bf16',)
    assert native_bf16_features(frozenset({'avx2', 'fma'})) == ()
    assert cpu_flags(str(tmp_path / 'missing')) == frozenset()


def conv_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))


@pytest.mark.skipif(not HAS_BF16, reason='this CPU has no native BF16 (the fallback is tested below)')
def test_amp_wrapper_runs_convolutions_in_bf16_and_keeps_float32_weights():
    net = conv_net()
    wrapper = CpuAmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert wrapper.enabled and wrapper.precision == 'bf16'
    with wrapper.optim_context(net):
        out = net(torch.randn(2, 3, 16, 16))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().square().mean())  # no loss scaling: plain backward and step
    assert all(p.dtype == torch.float32 and p.grad is None or p.grad.dtype == torch.float32 for p in net.parameters())
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_amp_wrapper_says_so_and_trains_float32_without_native_bf16(monkeypatch, caplog):
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'native_bf16_features', lambda: ())
    net = conv_net()
    wrapper = CpuAmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert not wrapper.enabled and wrapper.precision == 'fp32'
    with wrapper.optim_context(net):
        assert net(torch.randn(2, 3, 16, 16)).dtype == torch.float32
    with pytest.raises(ValueError, match='precision bf16 needs native BF16'):
        wrapper.precision = 'bf16'
    with pytest.raises(ValueError, match="precision must be one of \\('bf16', 'fp32'\\), got 'fp16'"):
        wrapper.precision = 'fp16'
    with pytest.raises(RuntimeError, match='avx512_bf16, amx_bf16'):
        CpuAmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1), require_native=True)


def test_amp_option_picks_the_cpu_wrapper_and_refuses_other_wrappers():
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if torch.cuda.is_available() else 'lcnet_mm.CpuAmpOptimWrapper')
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapperDict')))
    with pytest.raises(ValueError, match="--amp needs optim_wrapper.type OptimWrapper.*'OptimWrapperDict'"):
        enable_amp(cfg)


def test_depthwise_conv_stays_float32_under_autocast_while_training():
    block = DepthwiseSeparable(16, 32, 5, se_cfg=dict(ratio=4)).train()
    seen = {}
    block.depthwise_conv.register_forward_hook(lambda m, i, o: seen.__setitem__('depthwise', o.dtype))
    block.pointwise_conv.conv.register_forward_hook(lambda m, i, o: seen.__setitem__('pointwise', o.dtype))
    x = torch.randn(2, 16, 12, 12)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        block(x)
    assert seen == {'depthwise': torch.float32, 'pointwise': torch.bfloat16}
    with torch.autocast('cpu', dtype=torch.bfloat16), torch.no_grad():
        block.eval()(x)
    assert seen['depthwise'] == torch.bfloat16  # inference under autocast is autocast's business
    assert block(x).dtype == torch.float32  # and without autocast nothing changes


class _Runner:
    def __init__(self, model):
        self.model = model
        self.optim_wrapper = None


def test_channels_last_converts_the_model_and_keeps_its_outputs():
    model = PPLCNet(scale=0.5, out_indices=(2, 3, 4)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    parameters = list(model.parameters())
    TrainingModeHook(memory_format='channels_last').before_test(_Runner(model))
    assert model.stem.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert all(a is b for a, b in zip(parameters, model.parameters()))  # the optimizer's objects stay
    with torch.no_grad():
        outputs = model(x)
    assert outputs[0].is_contiguous(memory_format=torch.channels_last)
    for a, e in zip(outputs, expected):
        torch.testing.assert_close(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_benchmark_train_times_every_config_and_mode(tmp_path):
    tiny = [
        'train_dataloader.dataset.num_images=8',
        'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.dataset.num_images=2',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'model.backbone.scale=0.5',
        'model.neck.in_channels=[64,128,256]',
    ]
    proc = run_tool(
        'benchmark_train',
        ROOT / 'configs/lcnet_fcos.py',
        '--modes',
        'fp32-nchw',
        'fp32',
        'amp',
        '--warmup',
        '1',
        '--rounds',
        '2',
        '--reps',
        '1',
        '--out-dir',
        tmp_path,
        '--cfg-options',
        *tiny,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / 'results.json').read_text())['rows']
    assert [r['mode'] for r in rows] == ['fp32-nchw', 'fp32', 'amp']
    assert all(r['s_per_iter'] > 0 and r['iterations'] == 2 for r in rows) and rows[0]['speedup'] == 1.0
    assert '| lcnet_fcos | amp |' in (tmp_path / 'results.md').read_text()
    bad = run_tool('benchmark_train', ROOT / 'configs/lcnet_fcos.py', '--modes', 'fp16', timeout=300)
    assert bad.returncode != 0 and "got 'fp16'" in bad.stderr
