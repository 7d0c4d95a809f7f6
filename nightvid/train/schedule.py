"""Learning-rate schedules of the small networks' trainings, and a guard against loss spikes."""

from __future__ import annotations

import copy
import math
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

from torch import nn

from ..errors import NightvidError

__all__ = ["SpikeGuard", "TrainingDiverged", "warmup_cosine"]


class TrainingDiverged(NightvidError):
    """The loss kept spiking after every rollback."""


def warmup_cosine(step: int, recipe: Any) -> float:
    """Learning-rate factor: 2 % linear warm-up, then a cosine from 1 to ``lr_min / lr``
    (``recipe`` has ``steps``, ``lr`` and ``lr_min``).

    >>> from types import SimpleNamespace as R
    >>> r = R(steps=100, lr=1.0, lr_min=0.1)
    >>> warmup_cosine(0, r), warmup_cosine(2, r), round(warmup_cosine(99, r), 3)
    (0.5, 1.0, 0.1)
    """
    warm = max(1, recipe.steps // 50)
    if step < warm:
        return (step + 1) / warm
    t = min(1.0, (step - warm) / max(1, recipe.steps - warm))
    floor = recipe.lr_min / recipe.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


class SpikeGuard:
    """Rolls a training back to its last healthy snapshot when the loss spikes.

    The raw denoiser's inverse transform is quadratic: one bad Adam update can send its output
    to 100x the signal, and the next batches push it into the clamp where no gradient flows
    (the 12000-step teacher of 2026-11-23 died that way at step 2298). A step whose loss is
    not finite or above ``factor`` x the median of the last ``window`` accepted losses is
    skipped and the weights and optimiser state go back to the snapshot taken every
    ``every`` accepted steps (to the one before it when the next step spikes again: the bad
    update may predate the newest snapshot); the data stream and the schedule go on.

    Args:
        net, opt: the model and its optimiser.
        every, window, factor: snapshot period, median window, spike threshold.
        max_rollbacks: raise :class:`TrainingDiverged` beyond this many.
        log: where to report a rollback.

    Example:
        >>> import torch
        >>> net = torch.nn.Linear(1, 1)
        >>> guard = SpikeGuard(net, torch.optim.SGD(net.parameters(), 0.1), window=4, log=len)
        >>> [guard.accept(s, v) for s, v in enumerate([1.0, 1.1, 0.9, 1.0, 50.0, 1.0])]
        [True, True, True, True, False, True]
    """

    def __init__(self, net: nn.Module, opt: Any, *, every: int = 100, window: int = 200,
                 factor: float = 10.0, max_rollbacks: int = 50,
                 log: Callable[[str], None] = print) -> None:
        self.net, self.opt, self.every, self.factor = net, opt, every, factor
        self.max_rollbacks, self.log = max_rollbacks, log
        self.recent: deque[float] = deque(maxlen=window)
        self.rollbacks = 0
        self._accepted = 0
        self._since_rollback = 1
        self._snapshots: deque[tuple[dict, dict]] = deque([self._take()], maxlen=2)

    def _take(self) -> tuple[dict, dict]:
        return (copy.deepcopy(self.net.state_dict()), copy.deepcopy(self.opt.state_dict()))

    def accept(self, step: int, loss: float) -> bool:
        """Call with each step's loss before its backward pass: False means skip the step (the
        weights have been restored); True means go on (and call :meth:`stepped` after it)."""
        full = len(self.recent) == self.recent.maxlen
        spike = full and loss > self.factor * statistics.median(self.recent)
        if math.isfinite(loss) and not spike:
            self.recent.append(loss)
            self._since_rollback += 1
            return True
        self.rollbacks += 1
        if self.rollbacks > self.max_rollbacks:
            raise TrainingDiverged(f"training diverged: loss {loss:.4g} at step {step} after "
                                   f"{self.max_rollbacks} rollbacks")
        if self._since_rollback == 0 and len(self._snapshots) > 1:
            self._snapshots.pop()  # the newest snapshot spiked straight away: go one further back
        self._since_rollback = 0
        weights, state = self._snapshots[-1]
        self.net.load_state_dict(weights)
        self.opt.load_state_dict(state)
        self.log(f"  step {step}: loss {loss:.4g} spiked (median "
                 f"{statistics.median(self.recent) if self.recent else float('nan'):.4g}); "
                 "rolled back to the last snapshot")
        return False

    def stepped(self) -> None:
        """After an accepted step's update: snapshot every ``every`` accepted steps."""
        self._accepted += 1
        if self._accepted % self.every == 0:
            self._snapshots.append(self._take())
