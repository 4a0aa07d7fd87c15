"""Training that ends within a time budget, on any CPU: the schedule fitted to the speed this run measures, as
ultralytics' ``time=`` does for its trainer. One loop for epoch-based configs (mmdet's, mmpretrain's), one for
iteration-based ones (mmseg's)."""

import time
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

from mmengine.dist import broadcast_object_list, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from torch.utils.data import DataLoader

from lcnet_mm.registry import LOOPS
from lcnet_mm.utils import check_int
from .time_budget import FittedSchedule, fit_schedule
from .training_mode_hook import TrainingModeHook

STATE_KEY = 'time_budget'  # under checkpoint['meta']

_ARGS_DOC = """
    The budget counts training (iterations, epoch starts and ends, checkpoints written there) from the start of
    the loop; validation is timed apart and reported beside it at the end, and data set generation and model
    building before the loop do not count. Timing starts once the training mode is chosen
    (:class:`TrainingModeHook`, when the config has one) and ``settle_iters`` more iterations have run; the fit is
    made from ``measure_iters`` timed iterations (data loading included) and is one log line. The fit and the
    time spent are stored in every checkpoint; a resumed run continues with the stored fit and the time left.
    With several processes, rank 0's fit holds for all. ``time_budget_s=None`` is mmengine's loop unchanged.

    Args:
        time_budget_s (float, optional): Seconds of training the run may take.
        measure_iters (int): Iterations timed for the fit. Default 30.
        settle_iters (int): Iterations in the chosen training mode before timing starts (the first ones of a
            mode create its kernels), at least 1. Default 5.
        simulated_iter_s (float, optional): Count every iteration as this many seconds instead of reading the
            clock: what the run would do on a machine of that pace (tests, and checking a budget for another
            machine).
        timer (callable): Seconds now; replaced in tests.
        Other arguments: as mmengine's loop.
"""


class _TimeBudget:
    """What both budgeted loops share: the training clock, the measurement, the fit, the faster schedule and the
    checkpointed state. The loop class defines the recipe (:meth:`_recipe`) and where validation happens."""

    def _init_budget(self, runner, time_budget_s, measure_iters, settle_iters, simulated_iter_s, timer) -> None:
        for name, value in (('time_budget_s', time_budget_s), ('simulated_iter_s', simulated_iter_s)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(
                    f'{type(self).__name__}: {name} must be a number of seconds > 0 or None, got {value!r}'
                )
        check_int(measure_iters, f'{type(self).__name__}: measure_iters', minimum=1)
        check_int(settle_iters, f'{type(self).__name__}: settle_iters', minimum=1)
        self.time_budget_s = time_budget_s
        self.measure_iters = measure_iters
        self.settle_iters = settle_iters
        self.simulated_iter_s = simulated_iter_s
        self.timer = timer
        self.fitted: Optional[FittedSchedule] = None
        self.val_seconds = 0.0
        self._spent_before = 0.0  # training seconds of the run this one resumes
        self._iters_this_session = 0
        self._session_start: Optional[float] = None
        self._paused_at: Optional[float] = None
        self._paused = 0.0
        self._settled = 0
        self._pace_from: Optional[tuple] = None  # (seconds spent, iterations) where the measured pace starts
        if time_budget_s is not None:
            runner.register_hook(_BudgetState(self))

    def _recipe(self) -> Tuple[int, int]:
        """(iterations per epoch, epochs) of the recipe."""
        raise NotImplementedError

    # ---- the clock ---------------------------------------------------------------------------------------
    def seconds_spent(self) -> float:
        """Training seconds of the run so far (validation excluded), the resumed run's included."""
        if self.simulated_iter_s is not None:
            return self._spent_before + self._iters_this_session * self.simulated_iter_s
        if self._session_start is None:
            return self._spent_before
        paused = self._paused + (self.timer() - self._paused_at if self._paused_at is not None else 0.0)
        return self._spent_before + self.timer() - self._session_start - paused

    def _start_clock(self) -> None:
        self._session_start, self._pace_from = self.timer(), None
        if self.fitted is not None:  # resumed after the fit: the pace is measured again from here
            self._pace_from = (self.seconds_spent(), self._iter)

    def _validate(self) -> None:
        """The validation loop, its time kept out of the training clock."""
        self._paused_at = self.timer()
        self.runner.val_loop.run()
        self.val_seconds += self.timer() - self._paused_at
        self._paused += self.timer() - self._paused_at
        self._paused_at = None

    def _report(self) -> None:
        print_log(
            f'{type(self).__name__}: trained {self.seconds_spent():.1f} s of the {self.time_budget_s:g} s budget '
            f'in {self._iter} iterations; validation took {self.val_seconds:.1f} s more (not in the budget)',
            logger='current',
        )

    # ---- measuring and fitting ---------------------------------------------------------------------------
    def _mode_chosen(self) -> bool:
        return all(hook.decided for hook in self.runner.hooks if isinstance(hook, TrainingModeHook))

    def _count_iteration(self, done_in_epoch: int, in_final_mode: bool) -> None:
        """After an iteration: the clock's count, and the measurement until the fit is made."""
        self._iters_this_session += 1
        if self.fitted is not None:
            return
        if self._pace_from is None:
            if in_final_mode:
                self._settled += 1
                if self._settled >= self.settle_iters:  # timing starts with the next iteration
                    self._pace_from = (self.seconds_spent(), self._iter)
            return
        seconds, iters = self.seconds_spent() - self._pace_from[0], self._iter - self._pace_from[1]
        if iters < self.measure_iters:
            return
        epoch_length, epochs = self._recipe()
        pace, left = seconds / iters, self.time_budget_s - self.seconds_spent()
        fitted = fit_schedule(epoch_length, epochs, self._epoch, done_in_epoch, left, pace, self.time_budget_s)
        if fitted is None:  # the recipe fits: its own lengths (fitted again at epoch ends like a shortened one)
            lengths = [epoch_length] * (epochs - self._epoch)
            fitted = FittedSchedule(epoch_length, epochs, self._epoch, done_in_epoch, lengths, pace, self.time_budget_s)
        self._adopt(self._shared(fitted))
        print_log(f'{type(self).__name__}: {self._describe(iters)}', logger='current')

    def _shared(self, fitted: FittedSchedule) -> FittedSchedule:
        if get_world_size() > 1:  # every rank trains the iterations rank 0 fitted: they must stop together
            shared = [fitted.state_dict()]
            broadcast_object_list(shared, src=0)
            fitted = FittedSchedule.from_state_dict(shared[0])
        return fitted

    def _adopt(self, fitted: FittedSchedule) -> None:
        self.fitted = fitted
        self._max_iters = fitted.total

    def _describe(self, timed: int) -> str:
        fitted, (epoch_length, epochs) = self.fitted, self._recipe()
        recipe = epoch_length * epochs
        head = (
            f'{fitted.seconds_per_iter:.3f} s/iteration over {timed} iterations; the recipe, {recipe} iterations, '
            f'takes about {recipe * fitted.seconds_per_iter:.0f} s'
        )
        if fitted.total >= recipe:
            return f'{head}: within the {self.time_budget_s:g} s budget, trained as it is'
        shape = f'{fitted.total} iterations ({fitted.total / recipe:.2f} of the recipe)'
        if epochs > 1:
            lengths = sorted(set(fitted.lengths[1:] or fitted.lengths))  # the first also holds what was done
            shape += f', epochs of {"/".join(map(str, lengths))} instead of {epoch_length} iterations'
        return (
            f'{head}, over the {self.time_budget_s:g} s budget ({self.seconds_spent():.0f} s spent): {shape}, the '
            f'learning-rate schedule stepped {recipe / fitted.total:.2f}x per iteration so that it ends where the '
            f"recipe's did; validation is not in the budget"
        )

    # ---- the faster schedule -----------------------------------------------------------------------------
    def schedule_position(self) -> int:
        """Iterations of the recipe's schedule behind the iterations trained."""
        if self.fitted is None:
            return self._iter
        return self.fitted.schedule_position(self._epoch, self._done_in_epoch())

    def _done_in_epoch(self) -> int:
        raise NotImplementedError

    def advance_schedule(self) -> None:
        """After an iteration's ParamSchedulerHook step: step every iteration-based scheduler until its clock
        reads the schedule position. The clock is mmengine's ``_global_step``: ``last_step`` stands still outside
        a scheduler's ``[begin, end)``."""
        schedulers = self.runner.param_schedulers
        if self.fitted is None or schedulers is None:
            return
        position = self.schedule_position()
        for group in schedulers.values() if isinstance(schedulers, dict) else [schedulers]:
            for scheduler in group:
                if scheduler.by_epoch:
                    continue
                while scheduler._global_step < position:
                    scheduler.step()

    # ---- checkpoints -------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return dict(
            budget_s=self.time_budget_s,
            seconds_spent=self.seconds_spent(),
            val_seconds=self.val_seconds,
            fitted=self.fitted.state_dict() if self.fitted is not None else None,
        )

    def load_state_dict(self, state: dict) -> None:
        self._spent_before = float(state.get('seconds_spent', 0.0))
        self.val_seconds = float(state.get('val_seconds', 0.0))
        if state.get('fitted') is not None:
            self._adopt(FittedSchedule.from_state_dict(state['fitted']))


@LOOPS.register_module()
class BudgetedEpochBasedTrainLoop(_TimeBudget, EpochBasedTrainLoop):
    __doc__ = (
        """mmengine's ``EpochBasedTrainLoop`` with a time budget for training: the recipe's epochs where the
    machine is fast enough, a compressed schedule where it is not.

    When the recipe does not fit, every epoch is shortened by the same factor (each still starts on a freshly
    shuffled pass over the data) and the iteration-based learning-rate schedulers (warm-up, cosine, converted
    epoch-based ones) are stepped that much faster, so that every epoch ends where the recipe's ended in the
    schedule: what is counted in epochs (validation and checkpoint intervals, the cosine's end, PicoDet's assigner
    switch) stays in place and the run ends at the bottom of its schedule. At the end of every epoch the epochs
    left are fitted again to the pace the run has averaged since the measurement (as ultralytics does after each
    epoch): checkpoint writing and epoch starts are in that average, and a machine whose speed drifts still ends
    on time; a line is logged when that changes the lengths.
"""
        + _ARGS_DOC
    )

    def __init__(
        self,
        runner,
        dataloader: Union[DataLoader, Dict],
        max_epochs: int,
        time_budget_s: Optional[float] = None,
        measure_iters: int = 30,
        settle_iters: int = 5,
        simulated_iter_s: Optional[float] = None,
        timer: Callable[[], float] = time.perf_counter,
        **kwargs,
    ) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self._init_budget(runner, time_budget_s, measure_iters, settle_iters, simulated_iter_s, timer)
        self._index = 0  # iterations trained in the current epoch

    def _recipe(self) -> Tuple[int, int]:
        return len(self.dataloader), self._max_epochs

    def _done_in_epoch(self) -> int:
        return self._index

    def run(self):
        if self.time_budget_s is None:
            return super().run()
        self._start_clock()
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (
                self.runner.val_loop is not None
                and self._epoch >= self.val_begin
                and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)
            ):
                self._validate()
        self._report()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        if self.time_budget_s is None:
            return super().run_epoch()
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        batches, self._index = iter(self.dataloader), 0
        # The length is read each time round: the fit shortens the epoch it is made in.
        while self._index < (self.fitted.length(self._epoch) if self.fitted else len(self.dataloader)):
            try:
                data_batch = next(batches)
            except StopIteration:
                break
            self.run_iter(self._index, data_batch)
        del batches  # a shortened epoch leaves its iterator; persistent workers are reset by the next one
        self._refit_next_epochs()
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        if self.time_budget_s is None:
            return super().run_iter(idx, data_batch)
        in_final_mode = self.fitted is None and self._mode_chosen()  # before the iteration: it ran in that mode
        self._index = idx + 1  # what the hooks after this iteration (the schedule's step) count as done
        super().run_iter(idx, data_batch)
        self._count_iteration(idx + 1, in_final_mode)

    def _refit_next_epochs(self) -> None:
        if self.fitted is None or self._pace_from is None:
            return
        seconds, iters = self.seconds_spent() - self._pace_from[0], self._iter - self._pace_from[1]
        if iters <= 0:
            return
        fitted = FittedSchedule.from_state_dict(self.fitted.state_dict())
        if fitted.refit(self._epoch + 1, self.time_budget_s - self.seconds_spent(), seconds / iters):
            self._adopt(self._shared(fitted))
            lengths = ', '.join(str(n) for n in fitted.lengths[self._epoch + 1 - fitted.first_epoch :])
            print_log(
                f'{type(self).__name__}: {seconds / iters:.3f} s/iteration averaged since the fit; epochs '
                f'{self._epoch + 2}-{self._max_epochs} now take {lengths} iterations',
                logger='current',
            )
        else:
            self.fitted.seconds_per_iter = seconds / iters


@LOOPS.register_module()
class BudgetedIterBasedTrainLoop(_TimeBudget, IterBasedTrainLoop):
    __doc__ = (
        """mmengine's ``IterBasedTrainLoop`` with a time budget for training: the recipe's ``max_iters`` where the
    machine is fast enough, fewer where it is not, with the iteration-based learning-rate schedulers stepped that
    much faster so that the run ends at the bottom of its schedule. Validation stays where the recipe put it in the
    schedule (every ``val_interval`` iterations of the recipe, and at the end); checkpoint hooks count real
    iterations, and the last one is saved as usual. The fit is made once.
"""
        + _ARGS_DOC
    )

    def __init__(
        self,
        runner,
        dataloader: Union[DataLoader, Dict],
        max_iters: int,
        time_budget_s: Optional[float] = None,
        measure_iters: int = 30,
        settle_iters: int = 5,
        simulated_iter_s: Optional[float] = None,
        timer: Callable[[], float] = time.perf_counter,
        **kwargs,
    ) -> None:
        super().__init__(runner, dataloader, max_iters, **kwargs)
        self._init_budget(runner, time_budget_s, measure_iters, settle_iters, simulated_iter_s, timer)
        self._recipe_iters = self._max_iters
        self._done = 0  # iterations trained, this one included once it has started

    def _recipe(self) -> Tuple[int, int]:
        return self._recipe_iters, 1

    def _done_in_epoch(self) -> int:
        return self._done

    def run(self):
        if self.time_budget_s is None:
            return super().run()
        self._start_clock()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')  # the whole run is one epoch, as in mmengine's loop
        for _ in range(self._iter):  # resumed: skip the data already trained on, as mmengine's loop does
            next(self.dataloader_iterator)
        self._done = self._iter
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            before = self.schedule_position()
            self.run_iter(next(self.dataloader_iterator))
            self._decide_current_val_interval()
            after = self.schedule_position()
            if (
                self.runner.val_loop is not None
                and after >= self.val_begin
                and (after // self.val_interval > before // self.val_interval or self._iter == self._max_iters)
            ):
                self._validate()
        self._report()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: Sequence[dict]) -> None:
        if self.time_budget_s is None:
            return super().run_iter(data_batch)
        in_final_mode = self.fitted is None and self._mode_chosen()
        self._done = self._iter + 1  # what the hooks after this iteration (the schedule's step) count as done
        super().run_iter(data_batch)
        self._count_iteration(self._iter, in_final_mode)


class _BudgetState(Hook):
    """A budgeted loop's part in the hook sequence: the faster schedule stepped right after ParamSchedulerHook's
    step (hooks after it, and the next iteration, see the learning rate of the fitted schedule), and the fit and
    clock carried in and out of checkpoints (loops have no hook points of their own)."""

    priority = 'LOW'  # ParamSchedulerHook's: registered after it, so called after it

    def __init__(self, loop: _TimeBudget):
        self.loop = loop

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.loop.advance_schedule()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[STATE_KEY] = self.loop.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get(STATE_KEY)
        if getattr(runner, '_resume', False) and isinstance(state, dict):  # load_from starts a new run
            self.loop.load_state_dict(state)
