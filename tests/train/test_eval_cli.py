"""``nightvid eval`` on the shipped checkpoints: the tables print, the networks stand where
their cards say against the baselines of the same run (a few crops: conservative bounds)."""

from __future__ import annotations

import json

import pytest

from _helpers.data import require
from nightvid.cli import main


@pytest.fixture(autouse=True)
def _data():
    require("clean/images/CBSD68")
    require("noise/eld")


def test_eval_pipeline_and_wb(tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--sections", "pipeline", "wb", "-n", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "whole pipeline" in text and "| net denoiser + refine |" in text
    assert "white balance wb.safetensors" in text
    figs = json.loads(out.read_text())
    for ratio in ("x100", "x300"):
        rows = figs["pipeline"][ratio]
        assert rows["net denoiser + refine"]["psnr"] > rows["classical"]["psnr"]
    wb = figs["wb"]["all"]
    assert wb["net"]["median"] < min(wb["gray_world"]["median"], wb["grayness_index"]["median"])


def test_eval_missing_model_names_it(tmp_path, capsys):
    code = main(["eval", "--sections", "pipeline", "-n", "1",
                 "--denoiser", str(tmp_path / "nothere.safetensors")])
    assert code == 2
    assert "nothere.safetensors: no such checkpoint file" in capsys.readouterr().err


def test_eval_denoiser_updates_its_card(tmp_path, capsys):
    """The shipped student against fastNlMeans (one crop per condition), card rewritten."""
    import shutil

    from nightvid.nets.store import model_path
    from nightvid.train.small_cards import card_paths

    ckpt = tmp_path / "student.safetensors"
    shutil.copy(model_path("denoiser"), ckpt)
    card_json, card_md = card_paths(ckpt)
    shutil.copy(card_paths(model_path("denoiser"))[0], card_json)
    before = json.loads(card_json.read_text())
    out = tmp_path / "eval.json"
    assert main(["eval", "--sections", "denoiser", "-n", "1", "--denoiser", str(ckpt),
                 "--teacher", "", "--update-cards", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "net vs fastNlMeans:" in text and f"updated {card_md}" in text
    figs = json.loads(out.read_text())["denoiser"]["net"]
    assert figs["mean"]["net"] > figs["mean"]["opencv_nlm"] + 0.5
    card = json.loads(card_json.read_text())
    assert card["validation"]["n"] == 1 and card["validation"]["mean"] == figs["mean"]
    assert card["training"] == before["training"] and card["recipe"] == before["recipe"]
    for key in ("speed_ms_960x540_packed", "speed_ms_640x360_packed"):
        assert card[key]["opencv_nlm"] > card[key]["net"] > 0
    md = card_md.read_text()
    assert "640x360 packed (720p output)" in md and "evaluated" in md
