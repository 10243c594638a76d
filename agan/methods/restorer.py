"""The restorer of a trained network: an HWC float32 [0, 1] image in, the restored image out, whole
or in tiles, optionally with the x8 self-ensemble; the Attentive GAN also gives its attention map.
A grey network restores colour images channel by channel; a colour one restores grey images as RGB
and returns their luma."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agan.data.image import to_grey
from agan.errors import InputError
from agan.methods.precision import use_bf16
from agan.methods.tiling import DEFAULT_TILE, Forward, autocast_forward, run_network, self_ensemble, tile_side, tiled
from agan.nets.architectures import architecture_of


class RestorerModule(nn.Module):
    """A restoring network as a plain tensor module: NCHW float32 in [0, 1] in, the restored NCHW
    batch out (clamped to [0, 1]), whatever the network returns (the GAN's attention maps are
    left out; ``network`` is the bare network). ``size_multiple``: inputs are padded inside to it.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network
        self.size_multiple = architecture_of(network).size_multiple(network.config)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_network(self.network)(x)[0].clamp(0.0, 1.0)


class ModelRestorer:
    """A network as a restorer of HWC float32 [0, 1] images (RGB or grey).

    Grey images given to a colour network are replicated to RGB and brought back
    to one channel by BT.601 luma; a colour image given to a grey network is
    restored one channel at a time (its attention map, for the GAN, is the mean
    of the channels' maps).

    Args:
        model: a network in eval mode on ``device``; NCHW float32 in [0, 1] in,
            an image tensor or a :class:`~agan.nets.GeneratorOutput` out. It is
            converted to channels_last memory format in place (same results
            within 1e-7, a third faster for DnCNN on the CPU).
        device: where ``model`` is; on CUDA it runs under bf16 autocast.
        tile: tile side in pixels; None runs images of at most ``max_pixels``
            whole and larger ones in tiles of ``DEFAULT_TILE`` (512).
        overlap: pixels shared by neighbouring tiles (``< tile``); a network
            whose receptive radius is at most ``overlap // 3`` tiles exactly.
        max_pixels: the largest image (H * W) run in one pass when ``tile`` is None.
        ensemble: average the outputs (and attention maps) over the 8
            flips/rotations of the input (x8 self-ensemble; 8x slower).
        batch: tiles per forward pass; None: 4 on CUDA, 1 on the CPU, where a
            512-pixel tile of the GAN needs about 0.45 GB and four at once are
            no faster (a 24 MP photo's peak memory: 4.4 GB with four).

    Raises:
        ValueError: ``overlap`` not below the tile, or a non-positive size.
    """

    learned = True  # a trained network (see Method.learned)

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu", *, tile: int | None = None,
                 overlap: int = 64, max_pixels: int = 2_000_000, ensemble: bool = False, batch: int | None = None,
                 precision: str = "auto", name: str | None = None):
        self.model, self.device = model.to(memory_format=torch.channels_last), torch.device(device)
        batch = (4 if self.device.type == "cuda" else 1) if batch is None else batch
        _check_tiling(tile, overlap, max_pixels, batch)
        self.channels = int(getattr(model, "config", {}).get("in_channels", 3))
        self.tile, self.overlap, self.max_pixels, self.ensemble, self.batch = tile, overlap, max_pixels, ensemble, batch
        self.bf16 = use_bf16(precision, self.device, name)  # see agan.methods.precision
        self._forward: Forward = autocast_forward(run_network(self.model), self.device, self.bf16)

    @property
    def gives_attention(self) -> bool:
        """True when the network returns attention maps (the Attentive GAN generator)."""
        return architecture_of(self.model, foreign=True).attention

    def _infer(self, x: torch.Tensor, attention: bool, consume: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(1, C, H, W)`` -> ``(image (1, C, H, W), attention (1, 1, H, W) or None)``: whole or tiled, maybe x8;
        a tiled forward blends the attention maps only when ``attention``, and writes into ``x`` when
        ``consume`` (never under the x8 ensemble, whose first view is ``x`` itself)."""
        side = tile_side(x.shape[2], x.shape[3], self.tile, self.max_pixels)
        if side is None:
            forward = self._forward
        else:
            into_input = consume and not self.ensemble

            def forward(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
                return tiled(self._forward, t, side, self.overlap, self.batch, attention_wanted=attention,
                             into_input=into_input)
        return self_ensemble(forward, x) if self.ensemble else forward(x)

    @torch.inference_mode()
    def _run(self, image: np.ndarray, attention: bool = True, consume: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Restore an HWC image with the network's channel count; returns (HWC in [0, 1], HW attention or None).

        An HWC array is an NCHW tensor in channels_last memory: the image goes in and comes out
        without a whole-image copy on the CPU (a tiled output is made in that layout and clamped
        in place), which keeps a 24 MP photo's peak memory to a few copies of it.
        """
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
        y, maps = self._infer(x.to(self.device).contiguous(memory_format=torch.channels_last), attention, consume)
        restored = y.float().clamp_(0.0, 1.0)[0].permute(1, 2, 0).cpu().numpy()
        maps = maps[0, 0].float().cpu().numpy() if maps is not None and attention else None
        return np.ascontiguousarray(restored), maps

    def restore_with_attention(self, image: np.ndarray, attention: bool = True,
                               consume: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Restore HWC float32 [0, 1] ``image`` and return the network's last attention map
        (``attention=False``: None, and a tiled image blends no maps). ``consume=True`` hands
        ``image`` over: a tiled restore writes its output into it instead of a new array.

        Returns:
            ``(restored, attention)``: ``restored`` has the shape of ``image``,
            float32 in [0, 1]; ``attention`` is an ``(H, W)`` float32 map, raw
            (linear, about [0, 1], 1 where the GAN sees raindrops; clamp it to
            show it), or None for networks without attention.
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.dtype.kind != "f":
            raise ValueError(f"ModelRestorer takes HWC float images in [0, 1], got "
                             f"{getattr(image, 'dtype', type(image).__name__)} of shape {np.shape(image)}; "
                             "agan.load() takes uint8 and HW arrays too")
        image = np.asarray(image, np.float32)
        channels = image.shape[2]
        if channels == self.channels:
            return self._run(image, attention, consume and image.flags.c_contiguous)
        if self.channels == 1:
            results = [self._run(image[..., c : c + 1], attention) for c in range(channels)]
            maps = [m for _, m in results if m is not None]
            attention = np.mean(maps, axis=0, dtype=np.float32) if maps else None
            return np.concatenate([r for r, _ in results], axis=2), attention
        rgb, maps = self._run(np.repeat(image, 3, axis=2), attention)
        return to_grey(rgb), maps

    def __call__(self, image: np.ndarray, *, consume: bool = False) -> np.ndarray:
        """Restore HWC float32 [0, 1] ``image``; returns the same shape, float32, in [0, 1]."""
        return self.restore_with_attention(image, attention=False, consume=consume)[0]


def _check_tiling(tile: int | None, overlap: int, max_pixels: int, batch: int) -> None:
    if (tile is not None and tile < 1) or overlap < 0 or max_pixels < 1 or batch < 1:
        raise InputError(f"bad tiling: tile={tile}, overlap={overlap}, max_pixels={max_pixels}, batch={batch}")
    side = DEFAULT_TILE if tile is None else tile
    if overlap >= side:
        raise InputError(f"overlap ({overlap}) must be smaller than the tile ({side})")
