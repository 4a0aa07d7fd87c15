"""TrainingModeHook: the precision (BF16 autocast / float32) and memory format (channels-last / NCHW) a run
trains in are chosen by timing its own first iterations. No developer machine shows both verdicts (BF16
faster on one CPU, slower on another), so the timings are injected; the training is real (mmengine's Runner,
a real optimizer, real autocast)."""

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from lcnet_mm.apis import disable_amp, enable_amp
from lcnet_mm.engine import (
    TrainingMode,
    TrainingModeHook,
    WeightsOnlyCheckpointHook,
    choose_fastest,
    cpu_amp_optim_wrapper,
    winner_is_clear,
)
from lcnet_mm.engine.training_mode_hook import measurement_schedule

BF16_CL, BF16_NCHW = TrainingMode('bf16', 'channels_last'), TrainingMode('bf16', 'contiguous')
FP32_CL, FP32_NCHW = TrainingMode('fp32', 'channels_last'), TrainingMode('fp32', 'contiguous')


class TinyConvNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 1))
        self.seen = []  # (autocast on, channels-last weights) of every training forward

    def forward(self, inputs, labels=None, mode='loss'):
        inputs = torch.stack(inputs)
        self.seen.append(
            (
                torch.is_autocast_enabled('cpu'),
                self.net[0].weight.is_contiguous(memory_format=torch.channels_last),
            )
        )
        out = self.net(inputs).float().mean((2, 3))
        return dict(loss=nn.functional.cross_entropy(out, torch.stack(labels)))


class RandomImages(Dataset):
    def __len__(self):
        return 48

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(3, 8, 8, generator=generator), labels=torch.tensor(index % 2))


class ModeClock:
    """A clock on which an iteration takes ``costs[mode]`` seconds, ``mode`` read off the runner as it trains."""

    def __init__(self, costs):
        self.costs, self.now, self.runner = costs, 0.0, None

    def __call__(self):
        model, wrapper = self.runner.model, self.runner.optim_wrapper
        precision = getattr(wrapper, 'precision', 'fp32')
        layout = (
            'channels_last' if model.net[0].weight.is_contiguous(memory_format=torch.channels_last) else 'contiguous'
        )
        self.now += self.costs[TrainingMode(precision, layout)]
        return self.now


def train(tmp_path, costs, wrapper='lcnet_mm.CpuAmpOptimWrapper', iters=24, resume=False, clock=None, **hook_args):
    model = TinyConvNet()
    clock = clock or ModeClock(costs)
    hook = TrainingModeHook(timer=clock, **hook_args)
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=2, num_workers=0
        ),
        optim_wrapper=dict(type=wrapper, optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        custom_hooks=[hook, WeightsOnlyCheckpointHook()],  # checkpoints that torch.load(weights_only=True) reads
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20),
            logger=dict(type='LoggerHook', interval=100),
        ),
        resume=resume,
        experiment_name=f'training-mode-{tmp_path.name}-{int(resume)}',
        default_scope=None,  # no 'mmengine' scope left current for the tests after this one
    )
    clock.runner = runner
    runner.train()
    return runner, hook, model


@pytest.fixture
def native_bf16(monkeypatch):
    """Pretend the CPU has native BF16 (autocast then really runs; emulated where it has not)."""
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'native_bf16_features', lambda: ('avx512_bf16',))


def log_lines(work_dir):
    """The hook's lines in the run's log file."""
    text = ''.join(path.read_text() for path in work_dir.rglob('*.log'))
    return [line for line in text.splitlines() if 'TrainingModeHook:' in line]


@pytest.mark.parametrize(
    'costs, expected',
    [
        ({BF16_CL: 0.34, FP32_CL: 0.44, FP32_NCHW: 0.53, BF16_NCHW: 0.40}, BF16_CL),  # the AMD EPYC's verdict
        ({BF16_CL: 0.553, FP32_CL: 0.441, FP32_NCHW: 0.515, BF16_NCHW: 0.616}, FP32_CL),  # the Intel Xeon's
        ({BF16_CL: 0.60, FP32_CL: 0.50, FP32_NCHW: 0.45, BF16_NCHW: 0.70}, FP32_NCHW),  # channels-last losing
    ],
    ids=['bf16-faster', 'bf16-slower', 'nchw-faster'],
)
def test_the_measured_fastest_mode_trains_the_rest_of_the_run(tmp_path, native_bf16, costs, expected):
    runner, hook, model = train(tmp_path, costs)
    assert hook.chosen == expected
    assert runner.message_hub.get_info('training_mode') == str(expected)
    measured = 4 + 4 * 3  # one untimed and three timed iterations per mode, less the modes dropped early
    assert len(model.seen) == 24
    after = model.seen[measured:]
    assert after and all(
        seen == (expected.precision == 'bf16', expected.memory_format == 'channels_last') for seen in after
    )
    # Every candidate really trained some of the measured iterations (they are real steps, not thrown away).
    assert {(True, True), (True, False), (False, True), (False, False)} <= set(model.seen[:4])
    (line,) = [line for line in log_lines(tmp_path) if 'training in' in line]
    assert f'training in {expected}' in line and 'native BF16: avx512_bf16' in line
    for mode, cost in costs.items():  # the figures of every mode timed, in one line
        if mode in hook.medians:
            assert f'{mode} {cost:.3f}' in line


def test_a_far_slower_mode_is_dropped_after_two_timed_iterations(tmp_path, native_bf16):
    costs = {BF16_CL: 2.0, BF16_NCHW: 2.5, FP32_CL: 0.40, FP32_NCHW: 0.42}  # emulated-BF16-like
    runner, hook, model = train(tmp_path, costs)
    assert hook.chosen == FP32_CL
    assert set(hook.medians) == {BF16_CL, BF16_NCHW, FP32_CL, FP32_NCHW}
    bf16_iterations = sum(1 for autocast, _ in model.seen if autocast)
    assert bf16_iterations == 6  # one untimed and two timed iterations of each BF16 mode, no more


class NoisyClock:
    """A clock on which the successive iterations of a mode (its untimed warm-up first) take the seconds listed for
    it, the last repeated: timings with outliers, as a busy machine gives them."""

    def __init__(self, timings):
        self.timings = {mode: list(times) for mode, times in timings.items()}
        self.now, self.runner, self._calls = 0.0, None, 0

    def __call__(self):
        self._calls += 1
        if self._calls % 2 == 0:  # the hook reads the clock before and after each iteration: the second read
            model, wrapper = self.runner.model, self.runner.optim_wrapper
            layout = 'contiguous'
            if model.net[0].weight.is_contiguous(memory_format=torch.channels_last):
                layout = 'channels_last'
            times = self.timings[TrainingMode(getattr(wrapper, 'precision', 'fp32'), layout)]
            self.now += times.pop(0) if len(times) > 1 else times[0]
        return self.now


def train_noisy(tmp_path, monkeypatch, timings, iters=40, **hook_args):
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'native_bf16_features', lambda: ())  # layouts only: two modes
    runner, hook, model = train(tmp_path, {}, iters=iters, clock=NoisyClock(timings), **hook_args)
    return hook, model


def test_one_outlier_neither_drops_nor_flips_the_winner(tmp_path, monkeypatch):
    # channels-last is faster, but its first timed iteration hit a busy moment (1.4 s): by the old rule (one
    # timed iteration, 1.5x the fastest) it would have been dropped and NCHW chosen.
    timings = {FP32_CL: [0.5, 1.4, 0.49, 0.50, 0.49], FP32_NCHW: [0.6, 0.62, 0.61, 0.60]}
    hook, model = train_noisy(tmp_path, monkeypatch, timings)
    assert hook.chosen == FP32_CL and not hook._dropped
    assert hook.medians == {FP32_CL: pytest.approx(0.50), FP32_NCHW: pytest.approx(0.61)}


def test_a_close_race_is_timed_until_the_winner_is_clear(tmp_path, monkeypatch):
    # After three rounds the medians (0.50 vs 0.52) are closer than the scatter; two more rounds settle it.
    timings = {
        FP32_CL: [0.5, 0.50, 0.58, 0.44, 0.50, 0.50, 0.50],
        FP32_NCHW: [0.6, 0.52, 0.45, 0.60, 0.60, 0.60, 0.60],
    }
    hook, model = train_noisy(tmp_path, monkeypatch, timings)
    assert hook.chosen == FP32_CL
    assert [len(times) for times in hook._samples.values()] == [5, 5]
    (line,) = [line for line in log_lines(tmp_path) if 'training in' in line]
    assert 'winner clear' in line


def test_a_race_that_stays_close_ends_at_the_cap_and_says_so(tmp_path, monkeypatch):
    # The two scatter as much as they differ, round after round: never clear.
    timings = {
        FP32_CL: [0.5, 0.50, 0.56, 0.44, 0.50, 0.56, 0.44],
        FP32_NCHW: [0.6, 0.52, 0.46, 0.58, 0.52, 0.46, 0.58],
    }
    hook, model = train_noisy(tmp_path, monkeypatch, timings, max_rounds=6)
    assert [len(times) for times in hook._samples.values()] == [6, 6]
    (line,) = [line for line in log_lines(tmp_path) if 'training in' in line]
    assert 'winner not clear after 6 rounds' in line


def test_winner_is_clear_weighs_the_gap_against_the_spread():
    assert winner_is_clear({FP32_CL: [0.50, 0.51, 0.49], FP32_NCHW: [0.60, 0.61, 0.59]})
    assert not winner_is_clear({FP32_CL: [0.50, 0.60, 0.40], FP32_NCHW: [0.55, 0.65, 0.45]})
    assert winner_is_clear({FP32_CL: [0.50, 0.50, 9.0], FP32_NCHW: [0.60, 0.60, 0.60]})  # an outlier is no spread
    assert winner_is_clear({FP32_CL: [0.5], FP32_NCHW: []})  # one mode timed: nothing to compare


def test_without_native_bf16_only_layouts_are_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu_amp_optim_wrapper, 'native_bf16_features', lambda: ())
    costs = {FP32_CL: 0.4, FP32_NCHW: 0.5}
    runner, hook, model = train(tmp_path, costs)
    assert hook.chosen == FP32_CL and set(hook.medians) == {FP32_CL, FP32_NCHW}
    assert not any(autocast for autocast, _ in model.seen)
    assert any('no native BF16 on this CPU' in line for line in log_lines(tmp_path))


@pytest.mark.parametrize(
    'wrapper, hook_args, expected, why',
    [
        ('OptimWrapper', dict(memory_format='contiguous'), FP32_NCHW, 'OptimWrapper trains float32'),
        ('lcnet_mm.CpuAmpOptimWrapper', dict(precision='bf16', memory_format='channels_last'), BF16_CL, 'bf16 set'),
        ('lcnet_mm.CpuAmpOptimWrapper', dict(precision='fp32', memory_format='contiguous'), FP32_NCHW, 'fp32 set'),
    ],
    ids=['plain-wrapper', 'bf16-set', 'fp32-set'],
)
def test_explicit_choices_are_not_measured(tmp_path, native_bf16, wrapper, hook_args, expected, why):
    costs = {BF16_CL: 0.1, BF16_NCHW: 0.1, FP32_CL: 0.1, FP32_NCHW: 0.1}
    runner, hook, model = train(tmp_path, costs, wrapper=wrapper, iters=6, **hook_args)
    assert hook.chosen == expected and hook.medians == {}
    assert set(model.seen) == {(expected.precision == 'bf16', expected.memory_format == 'channels_last')}
    assert any(why in line and 'nothing to measure' in line for line in log_lines(tmp_path))


def test_a_resumed_run_continues_in_the_mode_it_was_training_in(tmp_path, native_bf16):
    first = {BF16_CL: 0.6, BF16_NCHW: 0.7, FP32_CL: 0.5, FP32_NCHW: 0.4}
    runner, hook, model = train(tmp_path, first)
    assert hook.chosen == FP32_NCHW
    saved = torch.load(tmp_path / 'iter_20.pth', weights_only=True)
    assert saved['meta']['training_mode'] == dict(precision='fp32', memory_format='contiguous')
    (tmp_path / 'iter_24.pth').unlink()  # resume from iteration 20
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_20.pth'))
    # Timings that would now choose BF16: a resumed run keeps its numerics instead of measuring again.
    later = {BF16_CL: 0.1, BF16_NCHW: 0.2, FP32_CL: 0.5, FP32_NCHW: 0.4}
    runner, hook, model = train(tmp_path, later, iters=30, resume=True)
    assert hook.chosen == FP32_NCHW and hook.medians == {}
    assert model.seen == [(False, False)] * 10
    assert any('as the checkpoint this run resumes from was training' in line for line in log_lines(tmp_path))


def test_a_run_shorter_than_the_measurement_still_decides(tmp_path, native_bf16):
    costs = {BF16_CL: 0.3, BF16_NCHW: 0.4, FP32_CL: 0.5, FP32_NCHW: 0.6}
    runner, hook, model = train(tmp_path, costs, iters=10)  # 4 untimed + 6 timed of the 16 it would take
    assert hook.chosen == BF16_CL and sum(len(v) for v in hook._samples.values()) == 6


def test_a_run_too_short_to_time_every_mode_takes_the_first_without_switching(tmp_path, native_bf16, caplog):
    costs = {BF16_CL: 0.3, BF16_NCHW: 0.4, FP32_CL: 0.5, FP32_NCHW: 0.6}
    runner, hook, model = train(tmp_path, costs, iters=5)  # fewer than one untimed + one timed iteration each
    assert hook.chosen == BF16_CL and not any(hook._samples.values())


def test_choose_fastest_and_the_schedule():
    # Medians, not means: one slow iteration (a new input shape, the machine busy) does not decide.
    mode, medians = choose_fastest({FP32_CL: [0.5, 0.4, 9.0], BF16_CL: [0.45, 0.45, 0.52], FP32_NCHW: []})
    assert mode == BF16_CL and medians == {FP32_CL: 0.5, BF16_CL: 0.45}
    assert choose_fastest({FP32_CL: [0.3, 0.4, 9.0], BF16_CL: [0.45, 0.45, 0.46]})[0] == FP32_CL
    with pytest.raises(ValueError, match='no timed iterations'):
        choose_fastest({FP32_CL: []})
    schedule = measurement_schedule([BF16_CL, FP32_CL], warmup=1, rounds=2)
    assert schedule == [
        (BF16_CL, False),
        (FP32_CL, False),
        (BF16_CL, True),
        (FP32_CL, True),
        (FP32_CL, True),
        (BF16_CL, True),
    ]
    assert str(BF16_CL) == 'BF16 + channels-last' and str(FP32_NCHW) == 'float32 + NCHW'


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(precision='fp16'), "precision must be 'auto', 'bf16' or 'fp32', got 'fp16'"),
        (dict(memory_format='nhwc'), "memory_format must be 'auto' or one of"),
        (dict(rounds=0), 'rounds must be a positive int, got 0'),
        (dict(warmup=True), 'warmup must be an int >= 0, got True'),
        (dict(drop_ratio=1.0), 'drop_ratio must be > 1, got 1.0'),
        (dict(rounds=4, max_rounds=3), 'max_rounds must be an int >= 4, got 3'),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        TrainingModeHook(**kwargs)


def test_bf16_without_the_autocast_wrapper_is_refused(tmp_path, native_bf16):
    with pytest.raises(
        ValueError, match="precision='bf16' needs optim_wrapper.type='CpuAmpOptimWrapper', got OptimWrapper"
    ):
        train(tmp_path, {}, wrapper='OptimWrapper', iters=2, precision='bf16')


def test_amp_and_fp32_options_fix_the_precision_of_the_configs_hook():
    def config():
        return Config(
            dict(
                optim_wrapper=dict(type='CpuAmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
                default_hooks=dict(training_mode=dict(type='TrainingModeHook', precision='auto')),
            )
        )

    cfg = config()
    enable_amp(cfg)
    if not torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'lcnet_mm.CpuAmpOptimWrapper'
        assert cfg.default_hooks.training_mode.precision == 'bf16'
    cfg = config()
    disable_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper' and cfg.default_hooks.training_mode.precision == 'fp32'
