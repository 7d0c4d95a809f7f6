"""DngSequenceSink: linear DNGs of the denoised mosaic; round trip, quality, resume, errors."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import rawpy

from nightvid.api import render_file
from nightvid.cli import main
from nightvid.config import load_config
from nightvid.engine import Engine
from nightvid.errors import ShapeError, SinkError, SourceError
from nightvid.io.tiff import read_dng_tags
from nightvid.sinks.base import open_sink
from nightvid.sinks.dng_seq import DngSequenceSink, encode_timecode
from nightvid.sources import open_raw
from nightvid.sources.dng_seq import decode_timecode
from nightvid.types import Frame

CLIP = Path(__file__).resolve().parents[2] / "samples" / "night_clip"
N = 4  # frames used: enough for the temporal filter to average, fast on 2 cores
BLACK = 128.0
WINDOW = (slice(246, 268), slice(440, 458))  # a flat, lit shop window (~300 DN above black)
# The raw denoiser network smooths this window (~110 e-, SNR 10, ISO 6400) far less than the
# classical wavelets (README, Models): it leaves 0.74-0.91x of the first frame's noise and
# 0.29-0.54x once the temporal filter averages (the wavelets: 0.13-0.21x, 0.03-0.07x).
NET_FLAT = 0.95


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    for f in sorted(CLIP.glob("*.dng"))[:N]:
        shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture(scope="module")
def out(clip, tmp_path_factory) -> Path:
    """The clip's first frames through ``nightvid enhance CLIP -o out/frame_%04d.dng``."""
    folder = tmp_path_factory.mktemp("dng_out")
    assert main(["enhance", str(clip), "-o", str(folder / "frame_%04d.dng"), "-q"]) == 0
    return folder


def pairs(clip: Path, out: Path) -> list[tuple[Path, Path]]:
    return [(clip / f"frame_{i:04d}.dng", out / f"frame_{i:04d}.dng") for i in range(N)]


def hp_std(x: np.ndarray) -> float:
    """Noise std of one Bayer plane: a 4-neighbour Laplacian residual, scaled to one sample."""
    x = x.astype(np.float64)
    r = x[1:-1, 1:-1] - 0.25 * (x[:-2, 1:-1] + x[2:, 1:-1] + x[1:-1, :-2] + x[1:-1, 2:])
    return float(r.std() / np.sqrt(1.25))


def check_mean_kept(clip: Path, out: Path) -> None:
    """Each output frame's mean (above black) within 1 % of its input's."""
    for src, dst in pairs(clip, out):
        a, b = (open_raw(p)[0].astype(np.float64) - BLACK for p in (src, dst))
        assert b.mean() == pytest.approx(a.mean(), rel=0.01)


def check_flat_patch(clip: Path, out: Path, factor: float, frames: slice = slice(None)) -> None:
    """In the flat shop window every Bayer plane keeps its level (5 %) and its noise falls
    below ``factor`` x the input's."""
    for src, dst in pairs(clip, out)[frames]:
        a, b = (open_raw(p)[0][WINDOW] for p in (src, dst))
        for r, c in ((0, 0), (0, 1), (1, 0), (1, 1)):
            pa, pb = a[r::2, c::2], b[r::2, c::2]
            assert pb.mean() == pytest.approx(pa.mean(), rel=0.05)
            assert hp_std(pb) < factor * hp_std(pa)


class TestRoundTrip:
    def test_one_complete_file_per_frame(self, out):
        assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:04d}.dng" for i in range(N)]

    def test_metadata_survives(self, clip, out):
        for src, dst in pairs(clip, out):
            a, ma = open_raw(src)
            b, mb = open_raw(dst)
            assert b.shape == a.shape and b.dtype == np.uint16
            assert (mb.cfa, mb.black_level, mb.white_level) == (ma.cfa, ma.black_level,
                                                                 ma.white_level)
            assert mb.as_shot_neutral == pytest.approx(ma.as_shot_neutral, abs=1e-4)
            np.testing.assert_allclose(mb.color_matrix_1, ma.color_matrix_1, atol=1e-4)
            assert (mb.cct_1, mb.orientation, mb.iso) == (ma.cct_1, ma.orientation, ma.iso)
            assert mb.camera == ma.camera  # no "nightvid nightvid ..." growth
            np.testing.assert_allclose(mb.gain_map, ma.gain_map, rtol=1e-3)
            # What is left of the noise is at most what came in.
            assert mb.noise_profile[0] <= ma.noise_profile[0] * 1.0001

    def test_rawpy_reads_the_same_layout(self, clip, out):
        src, dst = pairs(clip, out)[-1]
        with rawpy.imread(str(src)) as ra, rawpy.imread(str(dst)) as rb:
            assert rb.raw_image.shape == ra.raw_image.shape
            np.testing.assert_array_equal(rb.raw_pattern, ra.raw_pattern)
            assert rb.color_desc == ra.color_desc
            assert rb.black_level_per_channel == ra.black_level_per_channel
            assert rb.white_level == ra.white_level
            np.testing.assert_allclose(rb.rgb_xyz_matrix, ra.rgb_xyz_matrix, atol=1e-4)

    def test_cinema_dng_timing_survives(self, clip, out):
        for src, dst in pairs(clip, out):
            ta, tb = read_dng_tags(src), read_dng_tags(dst)
            assert Fraction(tb.frame_rate) == Fraction(ta.frame_rate) == 24
            assert decode_timecode(tb.time_codes) == decode_timecode(ta.time_codes) is not None


class TestQuality:
    def test_mean_kept_within_one_percent(self, clip, out):
        check_mean_kept(clip, out)

    def test_less_noise_in_a_flat_patch(self, clip, out):
        check_flat_patch(clip, out, 0.5)

    def test_renders_like_the_source(self, clip, out):
        cfg = load_config("default", {"output.scale": 0.5})
        for src, dst in pairs(clip, out)[::N - 1]:
            a, b = (render_file(p, cfg)[0] / 255.0 for p in (src, dst))
            assert b.mean() == pytest.approx(a.mean(), abs=0.01)
            assert np.abs(a - b).mean() < 0.04
            assert 10 * np.log10(1.0 / ((a - b) ** 2).mean()) > 24.0


class TestNetDenoiser:
    """The same checks with the raw denoiser network (``denoise.method=net``)."""

    @pytest.fixture(scope="class")
    def out_net(self, clip, tmp_path_factory) -> Path:
        folder = tmp_path_factory.mktemp("dng_net")
        assert main(["enhance", str(clip), "-o", str(folder / "frame_%04d.dng"), "-q",
                     "--set", "denoise.method=net"]) == 0
        return folder

    def test_mean_kept_within_one_percent(self, clip, out_net):
        check_mean_kept(clip, out_net)

    def test_less_noise_in_a_flat_patch(self, clip, out_net):
        check_flat_patch(clip, out_net, NET_FLAT)
        check_flat_patch(clip, out_net, 0.6, frames=slice(1, None))


class TestResumeAndRouting:
    def test_resume_rewrites_missing_frames_identically(self, clip, out, tmp_path):
        res = tmp_path / "res"
        shutil.copytree(out, res)
        for i in (2, 3):
            (res / f"frame_{i:04d}.dng").unlink()
        (res / ".frame_0002.dng.k3j2.tmp").write_bytes(b"half")  # a killed run's temporary
        pattern = str(res / "frame_%04d.dng")
        assert main(["enhance", str(clip), "-o", pattern, "-q", "--resume"]) == 0
        assert sorted(p.name for p in res.iterdir()) == [f"frame_{i:04d}.dng" for i in range(N)]
        # The warm-up re-renders the frames before the gap, so the temporal memory matches.
        for i in (2, 3):
            a = open_raw(out / f"frame_{i:04d}.dng")[0].astype(np.int32)
            b = open_raw(res / f"frame_{i:04d}.dng")[0].astype(np.int32)
            assert np.abs(a - b).max() <= 1

    def test_folder_with_codec_and_single_photo(self, clip, tmp_path):
        assert main(["enhance", str(clip / "frame_0000.dng"), "-o", str(tmp_path / "one.dng"),
                     "-q"]) == 0
        mosaic, meta = open_raw(tmp_path / "one.dng")
        assert mosaic.shape == (360, 640) and meta.cfa == "RGGB"
        sink = open_sink(tmp_path / "frames", fps=Fraction(24), codec="dng")
        assert isinstance(sink, DngSequenceSink)
        assert sink.frame_path(3) == tmp_path / "frames" / "frame_000003.dng"

    def test_timecode_round_trip(self):
        for text in ("01:00:00:00", "23:59:59:29", "00:10:00;02"):
            assert decode_timecode(encode_timecode(text)) == text
        assert encode_timecode(None) is None and encode_timecode("1:2") is None


class TestErrors:
    def expect(self, capsys, args: list[str], needle: str) -> None:
        code = main(args)
        err = capsys.readouterr().err
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nightvid: error: "), err
        assert needle in lines[0], err

    def test_missing_output_folder(self, capsys, clip, tmp_path):
        bad = tmp_path / "no" / "dir"
        self.expect(capsys, ["enhance", str(clip), "-o", str(bad / "f_%04d.dng"), "-q"],
                    str(bad))
        assert not (tmp_path / "no").exists()

    def test_output_folder_is_a_file(self, capsys, clip, tmp_path):
        (tmp_path / "file").write_text("x")
        self.expect(capsys, ["enhance", str(clip), "-o", str(tmp_path / "file" / "f_%04d.dng"),
                             "-q"], str(tmp_path / "file"))

    @pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
    def test_read_only_folder_leaves_nothing(self, capsys, clip, tmp_path):
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            self.expect(capsys, ["enhance", str(clip), "-o", str(ro / "f_%04d.dng"), "-q"],
                        str(ro))
            assert list(ro.iterdir()) == []
        finally:
            ro.chmod(0o700)

    def test_options_that_do_not_fit(self, capsys, clip, tmp_path):
        self.expect(capsys, ["enhance", str(clip), "-o", str(tmp_path / "f_%04d.dng"),
                             "--bit-depth", "10", "-q"], "bit_depth")
        self.expect(capsys, ["enhance", str(clip), "-o", str(tmp_path / "f_%04d.dng"),
                             "--codec", "png", "-q"], "codec")

    def test_sink_rejects_display_frames_and_bad_mosaics(self, tmp_path):
        sink = DngSequenceSink(tmp_path / "f_%02d.dng")
        with pytest.raises(SinkError, match="raw mosaics"):
            sink.write(np.zeros((4, 4, 3), np.uint8))
        with pytest.raises(ShapeError, match="frame.data"):
            sink.write_mosaic(Frame(data=np.zeros((4, 4), np.float32)))
        assert list(tmp_path.iterdir()) == []

    def test_rgb_source_has_no_mosaic(self):
        class Rgb:
            kind, path = "rgb", Path("dark.mp4")

        with pytest.raises(SourceError, match="dark.mp4"):
            next(Engine(load_config("fast")).mosaics(Rgb()))
