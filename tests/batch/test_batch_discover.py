"""Job discovery: what is a job, what kind, and where its output goes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from _helpers.batch_inputs import SAMPLES, make_batch_inputs
from nightvid.batch.discover import discover, file_kind
from nightvid.errors import ConfigError


@pytest.fixture(scope="module")
def batch_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test inputs (see ``_helpers/batch_inputs.py``), built once for this module."""
    return make_batch_inputs(tmp_path_factory.mktemp("batch_inputs"))


def names(jobs) -> dict[str, str]:
    return {j.name: j.kind for j in jobs}


class TestKinds:
    def test_samples_folder(self, batch_inputs: Path, tmp_path: Path) -> None:
        """The walk finds the photo and the clip; README, scripts and the sRGB reference PNG
        (no sidecar) are not inputs; the clip folder is one job, not 24 photos."""
        jobs = discover([batch_inputs / "samples"], tmp_path / "out")
        assert names(jobs) == {"night_clip.mp4": "sequence", "night_street.jpg": "photo"}
        clip = next(j for j in jobs if j.kind == "sequence")
        assert clip.input == batch_inputs / "samples" / "night_clip"
        assert clip.output == tmp_path / "out" / "night_clip.mp4"

    def test_whole_tree_mirrors_names(self, batch_inputs: Path, tmp_path: Path) -> None:
        jobs = discover([batch_inputs], tmp_path / "o", photo_suffix=".png",
                        stream_suffix=".mkv")
        assert names(jobs) == {"bad/corrupt.png": "photo", "extra/npr.png": "photo",
                               "extra/stack.mkv": "stack", "samples/night_clip.mkv": "sequence",
                               "samples/night_street.png": "photo"}

    @pytest.mark.parametrize("name,kind", [
        ("a.npz", "stack"), ("a.bayer", "rawvideo"), ("a.MOV", "video"), ("a.NEF", "photo"),
        ("a.json", None), ("README.md", None), ("a.png", None)])
    def test_file_kind(self, tmp_path: Path, name: str, kind: str | None) -> None:
        p = tmp_path / name
        p.write_bytes(b"x")
        assert file_kind(p) == kind

    def test_rawvideo_by_sidecar(self, tmp_path: Path) -> None:
        (tmp_path / "dump.raw").write_bytes(b"x")
        (tmp_path / "dump.json").write_text('{"pix_fmt": "bayer_rggb16le"}')
        assert file_kind(tmp_path / "dump.raw") == "rawvideo"

    def test_dng_folder_without_frame_rate_is_photos(self, tmp_path: Path) -> None:
        """DNGs without CinemaDNG tags are photos (a camera's card), unless forced."""
        shots = tmp_path / "card"
        shots.mkdir()
        for i in (1, 2):
            shutil.copy(SAMPLES / "night_street.dng", shots / f"DSC0{i}.dng")
        assert names(discover([shots], tmp_path / "o")) == {"DSC01.jpg": "photo",
                                                            "DSC02.jpg": "photo"}
        forced = discover([shots], tmp_path / "o", dng_folders="sequence")
        assert names(forced) == {"card.mp4": "sequence"}
        clip = discover([SAMPLES / "night_clip"], tmp_path / "o", dng_folders="photos")
        assert len(clip) == 24 and {j.kind for j in clip} == {"photo"}


class TestArguments:
    def test_explicit_files_and_sequence(self, batch_inputs: Path, tmp_path: Path) -> None:
        jobs = discover([batch_inputs / "bad" / "corrupt.dng", SAMPLES / "night_clip"],
                        tmp_path)
        assert names(jobs) == {"corrupt.jpg": "photo", "night_clip.mp4": "sequence"}

    def test_explicit_unknown_or_missing_file_is_a_job(self, tmp_path: Path) -> None:
        """Named on purpose: the job reports what is wrong (LibRaw may still open it)."""
        (tmp_path / "notes.txt").write_text("hi")
        jobs = discover([tmp_path / "notes.txt", tmp_path / "gone.dng"], tmp_path / "o")
        assert names(jobs) == {"notes.jpg": "photo", "gone.jpg": "photo"}

    def test_glob_base_is_its_fixed_folders(self, batch_inputs: Path, tmp_path: Path) -> None:
        jobs = discover([str(batch_inputs / "*" / "*.dng")], tmp_path / "o")
        assert names(jobs) == {"bad/corrupt.jpg": "photo", "samples/night_street.jpg": "photo"}

    def test_glob_without_match(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"\*\.arw: no file or folder matches"):
            discover([str(tmp_path / "*.arw")], tmp_path / "o")

    def test_output_folder_inside_input_is_not_walked(self, batch_inputs: Path,
                                                      tmp_path: Path) -> None:
        tree = tmp_path / "tree"
        shutil.copytree(batch_inputs / "extra", tree)
        (tree / "out").mkdir()
        (tree / "out" / "stack.mp4").write_bytes(b"an earlier output")
        (tree / ".hidden.npy").write_bytes(b"x")
        assert names(discover([tree], tree / "out")) == {"npr.jpg": "photo",
                                                         "stack.mp4": "stack"}

    def test_symlink_loop_is_walked_once(self, tmp_path: Path) -> None:
        tree = tmp_path / "tree"
        tree.mkdir()
        shutil.copy(SAMPLES / "night_street.dng", tree / "a.dng")
        (tree / "again").symlink_to(tree, target_is_directory=True)
        assert names(discover([tree], tmp_path / "o")) == {"a.jpg": "photo"}

    def test_two_inputs_one_output(self, tmp_path: Path) -> None:
        for d in ("a", "b"):
            (tmp_path / d).mkdir()
            shutil.copy(SAMPLES / "night_street.dng", tmp_path / d / "x.dng")
        with pytest.raises(ConfigError, match=r"x\.jpg: two inputs would write it"):
            discover([tmp_path / "a" / "x.dng", tmp_path / "b" / "x.dng"], tmp_path / "o")
        same = discover([tmp_path / "a", tmp_path / "a" / "x.dng"], tmp_path / "o")
        assert names(same) == {"x.jpg": "photo"}  # the same input twice is one job

    def test_output_would_overwrite_input(self, tmp_path: Path) -> None:
        (tmp_path / "clip.mp4").write_bytes(b"x")
        with pytest.raises(ConfigError, match=r"clip\.mp4: the output would overwrite"):
            discover([tmp_path / "clip.mp4"], tmp_path)


class TestIdentity:
    def test_signature_follows_the_input_bytes(self, tmp_path: Path) -> None:
        p = tmp_path / "a.dng"
        shutil.copy(SAMPLES / "night_street.dng", p)
        (before,) = discover([p], tmp_path / "o")
        with open(p, "ab") as f:
            f.write(b"\0")
        (after,) = discover([p], tmp_path / "o")
        assert before.key == after.key and before.signature != after.signature

    def test_part_name_keeps_the_suffix(self, tmp_path: Path) -> None:
        (job,) = discover([SAMPLES / "night_clip"], tmp_path)
        assert job.part == tmp_path / ".night_clip.part.mp4"
