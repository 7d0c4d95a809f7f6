"""Evaluation: PSNR table of net vs baselines on the validation split, and timings."""

from __future__ import annotations

import cv2
import torch

from _helpers.data import require
from nightvid.nets import DenoiserSpec, RawDenoiser
from nightvid.nets.infer import cpu_has_bf16
from nightvid.train.evaluate import evaluate_denoiser, nlm_denoise, psnr, time_methods


def test_psnr():
    assert abs(psnr(torch.zeros(4), torch.full((4,), 0.1)) - 20.0) < 1e-6


def test_nlm_keeps_level():
    x = torch.full((1, 4, 32, 32), 0.01) + 1e-3 * torch.randn(1, 4, 32, 32)
    before = cv2.getNumThreads()
    y = nlm_denoise(x, 1e-4, 1e-6)
    assert cv2.getNumThreads() == before  # the timing's thread count is put back
    assert y.shape == x.shape and abs(float(y.mean()) - 0.01) < 1e-3


def test_evaluate_small():
    require("clean/images/CBSD68")
    net = RawDenoiser(DenoiserSpec((8, 16), (1, 1), True, mean_block=0))
    res = evaluate_denoiser(net, ratios=(100.0,), isos=(3200.0,), n_images=2, crop=32)
    row = res["conditions"]["x100 iso3200"]
    bf16 = {"net_bf16"} if cpu_has_bf16() else set()
    assert set(row) == {"noisy", "classical", "opencv_nlm", "net"} | bf16
    assert row["classical"] > row["noisy"] and row["opencv_nlm"] > row["noisy"]
    assert abs(row["net"] - row["noisy"]) < 1e-3  # untrained net: the identity
    if bf16:  # the zero correction stays zero in bf16: still the identity
        assert abs(row["net_bf16"] - row["net"]) < 1e-3


def test_time_methods():
    t = time_methods(RawDenoiser(DenoiserSpec((8, 16), (1, 1), True)), size=(32, 32),
                     repeats=1)
    bf16 = {"net_bf16"} if cpu_has_bf16() else set()
    assert set(t) == {"classical", "opencv_nlm", "net"} | bf16 and all(v > 0 for v in t.values())
