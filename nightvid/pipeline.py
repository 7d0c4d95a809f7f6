"""The per-frame raw pipeline: a recipe of named stages, no maths of its own.

Order (DESIGN.md), with one deliberate change: the denoiser runs *before* lens shading,
because the sensor's Poisson-Gaussian noise model only holds on un-shaded data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from . import accel, warnings_once
from .config import Config
from .isp import ccm, demosaic, denoise, develop, exposure, lens_shading, sky, tone
from .isp.black_level import normalize_levels
from .isp.orientation import apply_orientation
from .isp.pack import mosaic_to_tensor, pack_bayer, unpack_bayer
from .isp.resize import downsample_packed, resize_rgb
from .isp.white_balance import (
    fuse_gains,
    gains_from_neutral,
    grayness_index,
    packed_to_cam_rgb,
)
from .nets import illumination as illumination_net
from .nets import infer
from .nets import wb as wb_net
from .nets.denoiser import keep_local_mean
from .nets.store import NetStore
from .runtime import output_size, pick_device, upload
from .state import StreamState
from .temporal.filter import temporal_filter
from .types import RawMeta


@dataclass
class RenderInfo:
    """What the pipeline decided for a frame (for summaries, the HUD and ``nightvid info``).

    Per-frame decisions stay device tensors (``*_t``) and become floats only when read, so
    rendering a frame does not wait on the device for figures nobody looks at.
    """

    cct_k: float = 0.0
    noise: tuple[float, float] = (0.0, 0.0)
    mode: str = "packed"
    work_size: tuple[int, int] = (0, 0)
    stage_ms: dict[str, float] = field(default_factory=dict)
    cut: bool = False
    amp_t: Tensor | None = None  # (B,)
    gains_t: Tensor | None = None  # (B, 3)
    count_t: Tensor | None = None  # (B, 1, h, w) frames averaged by the temporal filter
    sky_t: Tensor | None = None  # (B, 1, h, w) sky mask at thumbnail size

    @property
    def amplification(self) -> float:
        return 1.0 if self.amp_t is None else float(self.amp_t[0])

    @property
    def wb_gains(self) -> tuple[float, float, float]:
        if self.gains_t is None:
            return (1.0, 1.0, 1.0)
        r, g, b = (float(x) for x in self.gains_t[0])
        return (r, g, b)

    @property
    def temporal_frames(self) -> float:
        """Mean number of frames the temporal filter averaged (1 without it)."""
        return 1.0 if self.count_t is None else float(self.count_t.mean())

    @property
    def sky_fraction(self) -> float:
        return 0.0 if self.sky_t is None else float(self.sky_t.mean())


#: Metadata of an sRGB frame laid out as packed planes: unit levels, identity colour.
RGB_META = RawMeta(black_level=(0.0, 0.0, 0.0, 0.0), white_level=1.0, cfa="RGGB",
                   camera="sRGB video", source="rgb")


class Pipeline:
    """Renders raw mosaics to display images on one device.

    Args:
        config: the resolved :class:`~nightvid.config.Config`.
        device: overrides ``config.runtime.device``.
        timings: record per-stage milliseconds in :attr:`RenderInfo.stage_ms` (syncs the
            device after each stage, so use it for measuring, not in production).
        compile: compile the per-pixel hot paths (:mod:`nightvid.accel`); None decides by
            ``runtime.compile`` for a single frame. ``kernels.enabled`` may be changed later
            (the engine does once it knows the stream's length).
    """

    def __init__(self, config: Config, device: str | None = None, timings: bool = False,
                 compile: bool | None = None) -> None:
        self.config = config
        self.device = pick_device(device or config.runtime.device)
        self.timings = timings
        if compile is None:  # a single render: "auto" compiles on CUDA only
            compile = accel.resolve(config.runtime.compile, self.device, 1,
                                    config.runtime.compile_min_frames)
        self.kernels = accel.Kernels(compile)
        self.nets = NetStore(self.device, config.runtime.net_fallback)
        self._bf16 = infer.use_bf16(config.runtime.cpu_bf16)
        self._flat_field: Tensor | None = None

    @contextmanager
    def stage(self, info: RenderInfo, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` into ``info.stage_ms`` (with ``timings`` on)."""
        if not self.timings:
            yield
            return
        t0 = time.perf_counter()
        yield
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        info.stage_ms[name] = info.stage_ms.get(name, 0.0) + (time.perf_counter() - t0) * 1e3

    @torch.inference_mode()
    def render(self, mosaic: np.ndarray, meta: RawMeta,
               state: StreamState | None = None) -> tuple[Tensor, RenderInfo]:
        """Render one mosaic; with a ``state``, as the next frame of that stream.

        Args:
            mosaic: (H, W) sensor DN, H and W even, CFA ``meta.cfa``.
            meta: its metadata.
            state: the stream's :class:`~nightvid.state.StreamState`; None renders a photo
                (a stream of one frame: every estimate fresh, no temporal filter).
        Returns:
            ((1, 3, h, w) display sRGB in [0, 1], upright; RenderInfo).
        """
        cfg, info = self.config, RenderInfo()
        h_full, w_full = mosaic.shape
        out_hw = output_size(cfg, h_full, w_full, meta.orientation)
        packed_hw = (h_full // 2, w_full // 2)
        small = out_hw[0] <= packed_hw[0] and out_hw[1] <= packed_hw[1]
        info.mode = "packed" if small else "full"
        work_hw = out_hw if small else packed_hw
        info.work_size = work_hw

        packed, noise = self.prepare(mosaic, meta, work_hw, info)
        return self._process(packed, noise, meta, state, out_hw, small, info)

    def prepare(self, mosaic: np.ndarray | Tensor, meta: RawMeta, work_hw: tuple[int, int],
                info: RenderInfo) -> tuple[Tensor, tuple[float, float]]:
        """Upload, pack, early downsample and normalise a mosaic; its noise model.

        Args:
            mosaic: (H, W) sensor DN (NumPy, or a tensor already on the device).
            meta: its metadata.
            work_hw: packed size to work at (``(H // 2, W // 2)``: no downsample).
            info: receives the stage timings.
        Returns:
            ((1, 4, h, w) linear planes R, Gr, Gb, B, 0 at black and 1 at white;
            (shot, read) noise model of one of their samples).
        """
        h_full, w_full = mosaic.shape
        packed_hw = (h_full // 2, w_full // 2)
        with self.stage(info, "upload+pack"):
            # Pack by CFA so every later stage sees R, Gr, Gb, B planes.
            packed = pack_bayer(mosaic_to_tensor(mosaic, self.device), meta.cfa)
        with self.stage(info, "downsample"):
            # Early downsample: all later stages run at work size; the area filter averages noise.
            packed = downsample_packed(packed, work_hw)
            n_avg = (packed_hw[0] * packed_hw[1]) / (work_hw[0] * work_hw[1])
        with self.stage(info, "levels"):
            black = upload(meta.black_level, self.device)
            packed = normalize_levels(packed, black, float(meta.white_level))
            noise = self._noise_model(packed, meta, n_avg)
        return packed, noise

    def clean(self, packed: Tensor, noise: tuple[float, float], state: StreamState | None,
              info: RenderInfo) -> Tensor:
        """Cut detection, temporal filter and denoise of normalised planes (no gain applied).

        Args:
            packed: (1, 4, h, w) from :meth:`prepare`.
            noise: its (shot, read).
            state: the stream's state, or None for a photo (no cut test, no temporal filter).
            info: receives ``cut``, ``noise``, ``count_t`` and the stage timings.
        Returns:
            (1, 4, h, w), same levels.
        """
        cfg = self.config
        shot, read = noise
        info.noise = noise
        with self.stage(info, "temporal"):
            # A cut resets every cache; the filter then averages static areas across frames.
            info.cut = state is not None and state.detect_cut(state.thumbnail(packed))
            var_scale = None
            if state is not None and cfg.temporal.enabled:
                packed, count = temporal_filter(packed, state, shot, read, cfg.temporal,
                                                self.kernels)
                var_scale = 1.0 / count
                info.count_t = count
        with self.stage(info, "denoise"):
            return self._denoise(packed, shot, read, var_scale)

    @torch.inference_mode()
    def render_rgb(self, image: np.ndarray,
                   state: StreamState | None = None) -> tuple[Tensor, RenderInfo]:
        """Render a dark sRGB frame (the RGB path: phone or webcam footage that is no longer raw).

        The frame is linearised and laid out as packed planes (R, G, G, B) with identity colour,
        then runs the same stages as raw frames from the temporal filter on: noise-aware denoise,
        the local illumination gain (``illumination.method = "sci"``), amplification, cached
        white balance and tone, sky, colour fixes.

        Args:
            image: (H, W, 3) uint8 or uint16 sRGB.
            state: the stream's state, or None for a single image.
        Returns:
            ((1, 3, h, w) display sRGB in [0, 1]; RenderInfo).
        """
        cfg, info = self.config, RenderInfo(mode="rgb")
        h, w = image.shape[:2]
        out_hw = output_size(cfg, h, w, 1)
        info.work_size = out_hw
        with self.stage(info, "upload+pack"):
            top = 255.0 if image.dtype == np.uint8 else 65535.0
            rgb = torch.from_numpy(np.ascontiguousarray(image)).to(self.device)
            rgb = rgb.permute(2, 0, 1)[None].float() / top  # (H,W,3) -> (1,3,H,W)
            lin = tone.srgb_eotf(rgb.clamp(0.0, 1.0))
            lin = resize_rgb(lin, out_hw)
            packed = torch.cat([lin[:, :1], lin[:, 1:2], lin[:, 1:2], lin[:, 2:]], dim=1)
        with self.stage(info, "levels"):
            noise = denoise.estimate_noise_rgb(packed)
        return self._process(packed, noise, RGB_META, state, out_hw, True, info,
                             local_gain=True)

    def _process(self, packed: Tensor, noise: tuple[float, float], meta: RawMeta,
                 state: StreamState | None, out_hw: tuple[int, int], small: bool,
                 info: RenderInfo, local_gain: bool = False) -> tuple[Tensor, RenderInfo]:
        """Everything after the levels: shared by raw and RGB frames (``local_gain``: the RGB
        path's illumination stage)."""
        cfg = self.config
        st = state if state is not None else StreamState(cfg.stream)
        packed = self.clean(packed, noise, state, info)
        if local_gain:
            with self.stage(info, "illumination"):
                # After temporal filter and denoise (see _illumination), before the estimates.
                packed = self._illumination(packed)
        with self.stage(info, "lens_shading"):
            packed = self._lens_shading(packed, meta)
        with self.stage(info, "estimates"):
            # Cached across frames, refreshed on a schedule: WB on un-amplified camera RGB
            # (G-normalised gains), amplification, the colour matrix for the WB's illuminant.
            # The WB estimate comes to the host when it is refreshed (every few frames) and is
            # smoothed there, so the colour matrix never waits on the device.
            gains_host = st.wb.update(lambda: self._wb_gains(packed, meta).cpu())
            gains = upload(gains_host, self.device)
            amp = st.amp.update(lambda: self._amplification(packed))
            m, info.cct_k = self._color_matrix(meta, gains_host)
        with self.stage(info, "develop"):
            if small:
                lin_srgb = self.kernels(develop.develop_packed)(packed, amp, gains,
                                                                upload(m, self.device))
            else:
                lin = develop.expose(packed, amp, gains)
                cam = demosaic.demosaic_mhc(unpack_bayer(lin, meta.cfa), meta.cfa)
                lin_srgb = tone.clip_negatives(ccm.apply_ccm(cam, m))
                lin_srgb = resize_rgb(lin_srgb, out_hw)
        with self.stage(info, "sky+levels"):
            mask = levels = None
            sky_gains = upload(cfg.sky.cool_gains, self.device)
            if cfg.sky.enabled and cfg.sky.strength > 0:
                # Sky mask at thumbnail size, refreshed every few frames and blended between.
                mask = st.sky.update(lambda: sky.detect_sky(lin_srgb))
                info.sky_t = mask
            t = cfg.tone
            if t.contrast > 0:
                levels = st.levels.update(lambda: tone.contrast_levels(
                    develop.display_thumbnail(lin_srgb, mask, sky_gains, cfg.sky.strength,
                                              t.white_point, t.gamma),
                    t.black_percentile, t.white_percentile))
        with self.stage(info, "finish"):
            c = cfg.color
            display = self.kernels(develop.finish)(
                lin_srgb, mask, sky_gains, levels, sky_strength=cfg.sky.strength,
                white_point=t.white_point, gamma=t.gamma, contrast=t.contrast,
                green_desat=c.green_desat, purple_desat=c.purple_desat, vibrance=c.vibrance,
                saturation=c.saturation)
        with self.stage(info, "refine"):
            display = self._refine(display)
        with self.stage(info, "orientation"):
            if cfg.output.orientation:
                display = apply_orientation(display, meta.orientation)
        st.frame_index += 1
        info.amp_t, info.gains_t = amp, gains
        return display, info


    def _noise_model(self, packed: Tensor, meta: RawMeta, n_avg: float) -> tuple[float, float]:
        if meta.noise_profile is not None:
            # Averaging n samples divides the variance by n.
            return meta.noise_profile[0] / n_avg, meta.noise_profile[1] / n_avg
        return denoise.estimate_noise(packed[:1])

    def _denoise(self, packed: Tensor, shot: float, read: float,
                 var_scale: Tensor | None) -> Tensor:
        d = self.config.denoise
        if not d.enabled:
            return packed
        # Tensors, not floats: a compiled kernel would specialise (recompile) on every value.
        shot_t, read_t = upload(shot, self.device), upload(read, self.device)
        if d.method == "net":
            net = self.nets.get("raw_denoiser", d.model, "the classical denoiser")
            if net is not None:
                return self._denoise_net(net, packed, shot_t, read_t, var_scale)
        return self.kernels(denoise.denoise_packed)(
            packed, shot_t, read_t, strength=d.strength, chroma_strength=d.chroma_strength,
            levels=d.levels, var_scale=var_scale)

    def _denoise_net(self, net: torch.nn.Module, packed: Tensor, shot: Tensor, read: Tensor,
                     var_scale: Tensor | None) -> Tensor:
        """The raw denoiser network, tiled; after the temporal filter the noise is a map
        (both variances divided by the frames each pixel averaged)."""
        rt = self.config.runtime
        inputs = [packed, shot.reshape(1, 1, 1, 1), read.reshape(1, 1, 1, 1)]
        if var_scale is not None:
            inputs[1:] = [inputs[1] * var_scale, inputs[2] * var_scale]
        fn = self.kernels(net)
        with infer.autocast(self.device, self._bf16):
            out = infer.run_tiled(lambda *a: fn(*a, keep_mean=False), inputs, rt.tile,
                                  rt.tile_overlap, align=net.multiple)
        if net.spec.mean_block:  # on the whole frame: the tiles' output matches an untiled run
            return keep_local_mean(out, packed, net.spec.mean_block)
        return out.float()

    def _refine(self, display: Tensor) -> Tensor:
        """The RGB refinement network's correction, scaled by ``refine.strength``."""
        r, rt = self.config.refine, self.config.runtime
        if not r.enabled or r.strength <= 0:
            return display
        net = self.nets.get("refiner", r.model, "the pipeline without refinement")
        if net is None:
            return display
        with infer.autocast(self.device, self._bf16):
            out = infer.run_tiled(self.kernels(net), [display], rt.tile, rt.tile_overlap,
                                  align=net.multiple).float()
        return (display + r.strength * (out - display)).clamp(0.0, 1.0)

    def _lens_shading(self, packed: Tensor, meta: RawMeta) -> Tensor:
        cfg = self.config.lens_shading
        if not cfg.enabled:
            return packed
        if cfg.flat_field:
            gain = self._flat_field_gain()
        elif meta.gain_map is not None:
            gain = torch.from_numpy(np.ascontiguousarray(meta.gain_map, dtype=np.float32))
        else:
            return packed
        return lens_shading.apply_gain_map(packed, gain.to(packed.device))

    def _flat_field_gain(self) -> Tensor:
        if self._flat_field is None:
            from .sources import open_raw  # the flat field is a raw file like any other

            path = self.config.lens_shading.flat_field
            mosaic, meta = open_raw(path)
            flat = pack_bayer(mosaic_to_tensor(mosaic), meta.cfa)
            flat = normalize_levels(flat, torch.tensor(meta.black_level), float(meta.white_level))
            self._flat_field = lens_shading.gain_map_from_flat_field(flat)
        return self._flat_field

    def _wb_gains(self, packed: Tensor, meta: RawMeta) -> Tensor:
        wb = self.config.white_balance
        if wb.mode == "manual":
            g = torch.tensor(wb.gains, dtype=torch.float32, device=packed.device)[None]
            return g / g[:, 1:2]
        neutral = meta.as_shot_neutral
        if neutral is None and wb.mode in ("as-shot", "fused"):
            warnings_once.warn(f"{meta.source}: no as-shot white balance; using the automatic "
                               "estimate")
        if wb.mode == "as-shot" and neutral is not None:
            return gains_from_neutral(torch.tensor(neutral, device=packed.device)[None].float())
        auto = gains_from_neutral(self._auto_neutral(packed_to_cam_rgb(packed)))
        if neutral is None or wb.mode == "auto":
            return auto
        shot = gains_from_neutral(torch.tensor(neutral, device=packed.device)[None].float())
        return fuse_gains(shot, auto, wb.auto_weight, wb.max_deviation)

    def _auto_neutral(self, cam: Tensor) -> Tensor:
        """The automatic illuminant (B, 3), G = 1: the grayness index, or the WB net's
        estimate with ``white_balance.estimator = "net"`` (why not both: nightvid.nets.wb)."""
        wb = self.config.white_balance
        if wb.estimator == "net":
            net = self.nets.get("wb_estimator", wb.model, "the grayness-index white balance")
            if net is not None:
                return wb_net.estimate_neutral(net, cam)[0]
        return grayness_index(cam, wb.gi_percent)

    def _illumination(self, packed: Tensor) -> Tensor:
        """RGB path, ``illumination.method = "sci"``: times the SCI net's per-pixel gain,
        relative to its median so the amplification stage still sets the exposure.

        Applied after the temporal filter and the denoiser, not before: they then see the frame
        as captured, where the RGB path's single (signal-independent) noise level holds and the
        temporal filter compares frames without a per-frame gain map; and the map is estimated
        on the averaged, denoised frame, so it does not flicker with the noise. Noise left in
        the shadows is lifted with them, as the global gain lifts it everywhere.
        """
        c = self.config.illumination
        if c.method != "sci" or c.strength <= 0:
            return packed
        net = self.nets.get("illumination", c.model, "the global gain only")
        if net is None:
            return packed
        gain = illumination_net.illumination_gain(net, packed_to_cam_rgb(packed), c.strength)
        return packed * gain  # (B,1,h,w) broadcast over R, Gr, Gb, B

    def _amplification(self, packed: Tensor) -> Tensor:
        e = self.config.exposure
        if e.ev is not None:
            return torch.full((packed.shape[0],), 2.0**e.ev, device=packed.device)
        amp = exposure.estimate_amplification(
            packed, key=e.key, highlight_percentile=e.highlight_percentile,
            highlight_max=e.highlight_max, max_gain=e.max_gain)
        return amp * 2.0**e.compensation_ev

    def _color_matrix(self, meta: RawMeta, gains: Tensor) -> tuple[Tensor, float]:
        """camera(WB) -> linear sRGB for this frame's illuminant (host maths on 3x3).

        ``gains``: (1, 3) on the host."""
        if meta.color_matrix_1 is None and meta.color_matrix_2 is None:
            return torch.eye(3), 0.0
        neutral = 1.0 / gains[0].double().numpy()
        xyz_to_cam, cct = ccm.matrix_for_neutral(
            meta.color_matrix_1, meta.cct_1, meta.color_matrix_2, meta.cct_2, neutral / neutral[1])
        return torch.from_numpy(ccm.srgb_from_camera(xyz_to_cam)).float(), cct
