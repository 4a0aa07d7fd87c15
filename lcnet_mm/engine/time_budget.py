"""Fit a training recipe into a time budget: the arithmetic, apart from the loop that applies it.

A recipe is ``max_epochs`` epochs of ``epoch_length`` iterations. Where the machine cannot train all of them
within the budget, every epoch is shortened (each one still starts on a freshly shuffled pass over the data,
so it draws a random part of it) and the iteration-based learning-rate schedule is stepped faster, so that the
end of every shortened epoch is exactly where the recipe's epoch ended in the schedule. Everything counted in
epochs (validation and checkpoint intervals, the cosine's end, PicoDet's assigner switch, pipeline switches)
therefore stays where the recipe put it, and the run ends at the bottom of its schedule.
"""

from dataclasses import asdict, dataclass, field
from typing import List, Optional


@dataclass
class FittedSchedule:
    """Real iterations per epoch for the epochs from ``first_epoch`` on, and where in the first of them the fit
    was made (``done`` iterations of it had been trained at the recipe's pace)."""

    epoch_length: int  # the recipe's iterations per epoch
    max_epochs: int
    first_epoch: int
    done: int
    lengths: List[int] = field(default_factory=list)  # real iterations of epochs first_epoch, first_epoch + 1, ...
    seconds_per_iter: float = 0.0
    budget_s: float = 0.0

    def length(self, epoch: int) -> int:
        """Real iterations of ``epoch`` (the recipe's length before the fitted epochs)."""
        if epoch < self.first_epoch:
            return self.epoch_length
        return self.lengths[epoch - self.first_epoch]

    def schedule_position(self, epoch: int, index: int) -> int:
        """How many iterations of the recipe's schedule lie behind ``index`` real iterations of ``epoch``."""
        start, real = epoch * self.epoch_length, self.length(epoch)
        if epoch == self.first_epoch:  # the fit was made ``done`` iterations into this epoch
            if index <= self.done:
                return start + index
            start, index, real = start + self.done, index - self.done, real - self.done
        span = (epoch + 1) * self.epoch_length - start
        return start + round(index * span / real)

    @property
    def total(self) -> int:
        """Real iterations of the whole run."""
        return self.first_epoch * self.epoch_length + sum(self.lengths)

    def refit(self, epoch: int, seconds_left: float, seconds_per_iter: float) -> bool:
        """At the start of ``epoch`` (after the first fitted one), fit the epochs left to the budget at the pace the
        run has really averaged; the epochs trained keep their lengths. Whether any length changed."""
        if epoch <= self.first_epoch or epoch >= self.max_epochs:
            return False
        fitted = fit_schedule(
            self.epoch_length, self.max_epochs, epoch, 0, seconds_left, seconds_per_iter, self.budget_s
        )
        remaining = fitted.lengths if fitted else [self.epoch_length] * (self.max_epochs - epoch)
        lengths = self.lengths[: epoch - self.first_epoch] + remaining
        changed = lengths != self.lengths
        self.lengths, self.seconds_per_iter = lengths, seconds_per_iter
        return changed

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict) -> 'FittedSchedule':
        return cls(**state)


def fit_schedule(
    epoch_length: int,
    max_epochs: int,
    epoch: int,
    done: int,
    seconds_left: float,
    seconds_per_iter: float,
    budget_s: float,
) -> Optional[FittedSchedule]:
    """The shortened epochs from ``epoch`` on (``done`` iterations of it trained) that fit ``seconds_left`` at
    ``seconds_per_iter``, or None when the rest of the recipe fits as it is. Every epoch keeps at least one
    iteration beyond what is done, so a budget that is already spent still ends the schedule (one step per epoch)."""
    if seconds_per_iter <= 0:
        raise ValueError(f'seconds_per_iter must be > 0, got {seconds_per_iter!r}')
    epochs_left = max_epochs - epoch
    recipe_left = epochs_left * epoch_length - done
    affordable = max(int(seconds_left / seconds_per_iter), 0)
    if affordable >= recipe_left or epochs_left <= 0:
        return None
    # Cumulative rounding: the epochs' real lengths add up to what the budget affords.
    fraction, lengths, before = affordable / recipe_left, [], 0
    for offset in range(epochs_left):
        recipe_so_far = (offset + 1) * epoch_length - done
        real_so_far = round(recipe_so_far * fraction)
        lengths.append(real_so_far - before)
        before = real_so_far
    lengths[0] += done
    minimum = [done + 1] + [1] * (epochs_left - 1)
    lengths = [max(length, least) for length, least in zip(lengths, minimum)]
    return FittedSchedule(epoch_length, max_epochs, epoch, done, lengths, seconds_per_iter, budget_s)
