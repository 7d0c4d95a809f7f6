"""SpikeGuard: a spiking loss skips the step and restores the last healthy weights."""

from __future__ import annotations

import math

import pytest
import torch

from nightvid.train.schedule import SpikeGuard, TrainingDiverged


def _setup(**kw):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    return net, opt, SpikeGuard(net, opt, log=lambda s: None, **kw)


def _step(net, opt, guard, step, scale=1.0):
    loss = scale * net(torch.ones(1, 3)).abs().sum() + 1.0
    if guard.accept(step, float(loss.detach())):
        opt.zero_grad()
        loss.backward()
        opt.step()
        guard.stepped()
        return True
    return False


def test_rollback_restores_the_snapshot():
    net, opt, guard = _setup(every=5, window=5)
    for s in range(10):
        assert _step(net, opt, guard, s)
    snap = {k: v.clone() for k, v in net.state_dict().items()}  # taken after step 9
    for s in range(10, 12):
        _step(net, opt, guard, s)
    assert not torch.equal(net.weight, snap["weight"])
    with torch.no_grad():
        net.weight.fill_(1e6)  # a bad update
    assert not _step(net, opt, guard, 12)
    assert guard.rollbacks == 1
    assert all(torch.equal(net.state_dict()[k], snap[k]) for k in snap)
    # Adam's moments came back too: the next steps continue from the snapshot's state.
    assert _step(net, opt, guard, 13)


def test_second_spike_goes_one_snapshot_further_back():
    net, opt, guard = _setup(every=5, window=5)
    for s in range(5):
        _step(net, opt, guard, s)
    older = {k: v.clone() for k, v in net.state_dict().items()}
    for s in range(5, 10):
        _step(net, opt, guard, s)
    with torch.no_grad():
        net.weight.fill_(1e6)
    assert not _step(net, opt, guard, 10)
    with torch.no_grad():
        net.weight.fill_(1e6)  # the newest snapshot was bad as well
    assert not _step(net, opt, guard, 11)
    assert all(torch.equal(net.state_dict()[k], older[k]) for k in older)


def test_non_finite_loss_is_a_spike_even_early():
    net, opt, guard = _setup()
    assert not guard.accept(0, math.nan)
    assert not guard.accept(1, math.inf)
    assert guard.accept(2, 1.0)


def test_diverges_after_too_many_rollbacks():
    _, _, guard = _setup(max_rollbacks=2)
    guard.accept(0, math.nan)
    guard.accept(1, math.nan)
    with pytest.raises(TrainingDiverged, match="diverged.*step 2"):
        guard.accept(2, math.nan)
