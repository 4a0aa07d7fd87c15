"""BudgetedEpochBasedTrainLoop: the recipe where the machine is fast enough, a compressed schedule ending at the
bottom of its learning rate where it is not, kept on resume. The training is real (mmengine's Runner, optimizer,
schedulers, checkpoints); the machine's pace is injected (``simulated_iter_s``), since no developer machine is
both fast and slow."""

import itertools
import math

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from test_training_mode import RandomImages  # 48 seeded 8x8 images, two labels

from lcnet_mm.apis import set_time_budget
from lcnet_mm.engine import (
    BudgetedEpochBasedTrainLoop,
    BudgetedIterBasedTrainLoop,
    FittedSchedule,
    TrainingModeHook,
    WeightsOnlyCheckpointHook,
    fit_schedule,
)

LR, EPOCHS, EPOCH_LENGTH = 0.1, 4, 24  # 48 images in batches of 2
RECIPE = EPOCHS * EPOCH_LENGTH
ETA_MIN = 0.05 * LR
# The learning rate the recipe's last iteration leaves (the cosine's value at step RECIPE - 1): where a budgeted run
# must end too, however few iterations it had.
LAST_LR = ETA_MIN + (LR - ETA_MIN) * (1 + math.cos(math.pi * (RECIPE - 1) / RECIPE)) / 2


class TinyNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 1))

    def forward(self, inputs, labels=None, mode='loss'):
        out = self.net(torch.stack(inputs)).mean((2, 3))
        if mode == 'predict':
            return list(out)
        return dict(loss=nn.functional.cross_entropy(out, torch.stack(labels)))


class Record(Hook):
    """Iterations per epoch, the learning rate after every iteration, and an optional stop after an epoch."""

    priority = 'LOWEST'  # after the checkpoint hook: an interrupted run has saved its epoch

    def __init__(self, stop_after_epoch=None):
        self.per_epoch, self.lrs, self.stop_after_epoch = [], [], stop_after_epoch
        self._count = 0

    def before_train_epoch(self, runner):
        self._count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._count += 1
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    def after_train_epoch(self, runner):
        self.per_epoch.append(self._count)
        if self.stop_after_epoch is not None and runner.epoch + 1 == self.stop_after_epoch:
            raise KeyboardInterrupt('interrupted for the test')


def train(tmp_path, resume=False, stop_after_epoch=None, mode_hook=None, **loop_args):
    record = Record(stop_after_epoch)
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=True), batch_size=2, num_workers=0
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=LR)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
            dict(
                type='CosineAnnealingLR',
                T_max=EPOCHS,
                eta_min_ratio=0.05,
                by_epoch=True,
                begin=0,
                end=EPOCHS,
                convert_to_iter_based=True,
            ),
        ],
        train_cfg={
            'type': 'lcnet_mm.BudgetedEpochBasedTrainLoop',
            'max_epochs': EPOCHS,
            'measure_iters': 6,
            'settle_iters': 2,
            **loop_args,
        },
        custom_hooks=[record, WeightsOnlyCheckpointHook(), *([mode_hook] if mode_hook else [])],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1), logger=dict(type='LoggerHook', interval=100)
        ),
        resume=resume,
        experiment_name=f'budget-{tmp_path.name}-{int(resume)}',
        default_scope=None,
    )
    runner.train()
    return runner, record


def budget_lines(work_dir, name='BudgetedEpochBasedTrainLoop:'):
    text = ''.join(path.read_text() for path in work_dir.rglob('*.log'))
    return [line for line in text.splitlines() if name in line]


def test_a_fast_machine_trains_the_recipe_as_it_is(tmp_path):
    runner, record = train(tmp_path, time_budget_s=100, simulated_iter_s=0.5)  # 96 x 0.5 s = 48 s
    assert record.per_epoch == [EPOCH_LENGTH] * EPOCHS
    assert record.lrs[-1] == pytest.approx(LAST_LR, rel=1e-5)
    lines = budget_lines(tmp_path)
    assert 'within the 100 s budget, trained as it is' in lines[0]
    assert 'trained 48.0 s of the 100 s budget in 96 iterations' in lines[-1]


def test_the_real_clock_on_a_generous_budget_trains_the_recipe(tmp_path):
    runner, record = train(tmp_path, time_budget_s=600)
    assert record.per_epoch == [EPOCH_LENGTH] * EPOCHS
    assert 0 < runner.train_loop.seconds_spent() < 600


def test_a_slow_machine_trains_every_epoch_shorter_and_ends_at_the_bottom_of_the_schedule(tmp_path):
    runner, record = train(tmp_path, time_budget_s=48, simulated_iter_s=1.0)  # the recipe would take 96 s
    assert len(record.per_epoch) == EPOCHS  # every epoch still runs: what is counted in epochs stays in place
    assert sum(record.per_epoch) == 48  # the budget, to the iteration
    # Fitted 8 iterations in (2 settling, 6 timed), 40 s left: the 88 iterations left of the recipe become 40.
    assert record.per_epoch == [8 + 7, 11, 11, 11]
    # The learning rate follows the recipe's curve, faster: the warm-up's peak, then the cosine to its end.
    assert max(record.lrs) == pytest.approx(LR, rel=0.05)
    assert record.lrs[-1] == pytest.approx(LAST_LR, rel=1e-5)
    assert all(scheduler._global_step == RECIPE for scheduler in runner.param_schedulers)  # the schedulers' clock
    assert runner.train_loop.max_iters == 48
    (line,) = [line for line in budget_lines(tmp_path) if 'over the 48 s budget' in line]
    assert '1.000 s/iteration over 6 iterations' in line and 'epochs of 11 instead of 24 iterations' in line
    saved = torch.load(tmp_path / 'epoch_4.pth', weights_only=True)['meta']['time_budget']
    assert saved['seconds_spent'] == pytest.approx(48.0) and saved['fitted']['lengths'] == [15, 11, 11, 11]


def test_a_resumed_run_keeps_its_fitted_schedule(tmp_path):
    whole = tmp_path / 'whole'
    _, uninterrupted = train(whole, time_budget_s=48, simulated_iter_s=1.0)
    parts = tmp_path / 'parts'
    with pytest.raises(KeyboardInterrupt):
        train(parts, time_budget_s=48, simulated_iter_s=1.0, stop_after_epoch=2)
    runner, resumed = train(parts, resume=True, time_budget_s=48, simulated_iter_s=1.0)
    assert resumed.per_epoch == uninterrupted.per_epoch[2:]
    assert resumed.lrs == pytest.approx(uninterrupted.lrs[-len(resumed.lrs) :])
    assert runner.train_loop.seconds_spent() == pytest.approx(48.0)


def test_the_fit_waits_for_the_training_mode_choice(tmp_path):
    # Every iteration timed at 1 s (a tie): the hook times its 3 rounds, the cap, and then decides.
    clock = itertools.count()
    mode_hook = TrainingModeHook(
        precision='fp32', memory_format='auto', warmup=1, rounds=3, max_rounds=3, timer=lambda: next(clock)
    )
    runner, record = train(tmp_path, time_budget_s=48, simulated_iter_s=1.0, mode_hook=mode_hook)
    # 2 x (1 + 3) iterations choosing the layout, 2 settling, 6 timed: the fit is made 16 iterations in.
    assert runner.train_loop.fitted.done == 16 and runner.train_loop.fitted.first_epoch == 0
    assert sum(record.per_epoch) == 48 and record.lrs[-1] == pytest.approx(LAST_LR, rel=1e-5)


def test_without_a_budget_the_loop_is_mmengines(tmp_path):
    runner, record = train(tmp_path)
    assert record.per_epoch == [EPOCH_LENGTH] * EPOCHS and runner.train_loop.fitted is None
    assert budget_lines(tmp_path) == []


@pytest.mark.parametrize(
    'args, message',
    [
        (dict(time_budget_s=0), 'time_budget_s must be a number of seconds > 0 or None, got 0'),
        (dict(time_budget_s='10m'), "time_budget_s must be a number of seconds > 0 or None, got '10m'"),
        (dict(time_budget_s=10, measure_iters=0), 'measure_iters must be a positive int, got 0'),
    ],
)
def test_bad_arguments_are_named(tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        train(tmp_path, **args)


def test_fit_schedule_shortens_every_epoch_by_the_same_factor():
    assert fit_schedule(200, 6, 0, 40, 600, 0.4, 540) is None  # 1160 iterations left, 1500 affordable
    fitted = fit_schedule(200, 6, 0, 40, 480, 0.53, 540)
    affordable = int(480 / 0.53)
    assert fitted.total == 40 + affordable and len(fitted.lengths) == 6
    assert max(fitted.lengths[1:]) - min(fitted.lengths[1:]) <= 1
    # Every epoch ends where the recipe's did; inside the fitted epochs the schedule runs faster, never back.
    for epoch in range(6):
        positions = [fitted.schedule_position(epoch, k) for k in range(fitted.length(epoch) + 1)]
        assert positions[0] == epoch * 200 and positions[-1] == (epoch + 1) * 200
        assert all(b > a for a, b in zip(positions, positions[1:]))
    assert fitted.schedule_position(0, 40) == 40  # what was trained before the fit kept the recipe's pace
    # A budget already spent still ends the schedule: one step per epoch.
    spent = fit_schedule(200, 6, 0, 40, -5, 0.5, 540)
    assert spent.lengths == [41, 1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match='seconds_per_iter must be > 0'):
        fit_schedule(200, 6, 0, 40, 100, 0, 540)


def test_an_epoch_end_refit_changes_only_the_epochs_left():
    fitted = fit_schedule(100, 4, 0, 10, 100, 0.5, 110)
    before = list(fitted.lengths)
    assert fitted.refit(2, 10, 0.5) and fitted.lengths[:2] == before[:2] and fitted.lengths[2:] == [10, 10]
    assert fitted.refit(2, 1000, 0.5) and fitted.lengths[2:] == [100, 100]  # faster again: up to the recipe
    assert FittedSchedule.from_state_dict(fitted.state_dict()) == fitted
    assert math.isclose(fitted.seconds_per_iter, 0.5)


def test_time_budget_option_sets_the_loop_or_names_what_it_needs():
    cfg = Config(dict(train_cfg=dict(by_epoch=True, max_epochs=5, val_interval=1)))
    set_time_budget(cfg, 300)
    assert cfg.train_cfg == dict(
        type='lcnet_mm.BudgetedEpochBasedTrainLoop', max_epochs=5, val_interval=1, time_budget_s=300
    )
    cfg = Config(dict(train_cfg=dict(type='IterBasedTrainLoop', max_iters=10)))
    set_time_budget(cfg, 60)
    assert cfg.train_cfg == dict(type='lcnet_mm.BudgetedIterBasedTrainLoop', max_iters=10, time_budget_s=60)
    with pytest.raises(ValueError, match=r"needs one of mmengine's training loops .*got train_cfg.type='MyLoop'"):
        set_time_budget(Config(dict(train_cfg=dict(type='MyLoop', max_iters=10))), 300)
    with pytest.raises(ValueError, match='--time-budget must be a number of seconds > 0, got -1'):
        set_time_budget(cfg, -1)


def test_an_iteration_based_run_is_shortened_and_validates_where_the_recipe_did(tmp_path):
    record = Record()
    validated = []

    class Validation(Hook):
        def before_val(self, runner):
            validated.append(runner.iter)

    from mmengine.evaluator import BaseMetric

    class Nothing(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.append(0)

        def compute_metrics(self, results):
            return dict(score=0.0)

    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=RandomImages(), sampler=dict(type='InfiniteSampler', shuffle=True), batch_size=2, num_workers=0
        ),
        val_dataloader=dict(
            dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=False), batch_size=48, num_workers=0
        ),
        val_evaluator=[Nothing()],
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=LR)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10),
            dict(type='CosineAnnealingLR', T_max=RECIPE, eta_min_ratio=0.05, by_epoch=False, begin=0, end=RECIPE),
        ],
        train_cfg=dict(
            type='lcnet_mm.BudgetedIterBasedTrainLoop',
            max_iters=RECIPE,
            val_interval=24,
            measure_iters=6,
            settle_iters=2,
            time_budget_s=48,
            simulated_iter_s=1.0,
        ),
        custom_hooks=[record, Validation()],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=100), checkpoint=dict(type='CheckpointHook')),
        experiment_name=f'budget-iter-{tmp_path.name}',
        default_scope=None,
    )
    runner.train()
    assert len(record.lrs) == 48
    assert record.lrs[-1] == pytest.approx(LAST_LR, rel=1e-5)
    # Validation every 24 iterations of the recipe: at 24, 48, 72 and 96 of the schedule, four times, as planned.
    assert len(validated) == 4 and validated[-1] == 48
    (line,) = [line for line in budget_lines(tmp_path, 'BudgetedIterBasedTrainLoop:') if 'over the 48 s' in line]
    assert '48 iterations (0.50 of the recipe)' in line


def test_the_loop_is_found_from_every_toolbox_scope():
    from mmdet.registry import LOOPS as MMDET_LOOPS
    from mmpretrain.registry import LOOPS as MMPRETRAIN_LOOPS
    from mmseg.registry import LOOPS as MMSEG_LOOPS

    for registry in (MMDET_LOOPS, MMPRETRAIN_LOOPS, MMSEG_LOOPS):
        assert registry.get('BudgetedEpochBasedTrainLoop') is BudgetedEpochBasedTrainLoop
        assert registry.get('BudgetedIterBasedTrainLoop') is BudgetedIterBasedTrainLoop
