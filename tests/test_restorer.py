import sys

import numpy as np
import pytest
import torch
from conftest import scene
from torch import nn

from agan.baselines.dncnn import DnCNN
from agan.methods.restorer import ModelRestorer
from agan.methods.tiling import run_network, self_ensemble, tile_side, tiled
from agan.nets import AttentiveGenerator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _dncnn(channels: int = 1) -> DnCNN:
    """A random-weight DnCNN of depth 5 (receptive radius 5) and width 8, in eval mode."""
    torch.manual_seed(0)
    return DnCNN(in_channels=channels, depth=5, width=8).eval()


def _small_gan(channels: int = 3) -> AttentiveGenerator:
    torch.manual_seed(0)
    return AttentiveGenerator(in_channels=channels, steps=2, att_width=4, res_blocks=1, ae_width=4).eval()


class Pointwise(nn.Module):
    """A 1x1-convolution network: commutes with flips and rotations, so its x8 ensemble is itself."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.config = {"in_channels": channels}
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x))


def test_tiled_equals_whole_image_when_the_margin_covers_the_receptive_field():
    model = _dncnn(1)
    x = torch.rand(1, 1, 100, 130)
    with torch.inference_mode():
        whole = model(x)
    image, attention = tiled(run_network(model), x, tile=48, overlap=30, batch=3)
    assert attention is None and image.shape == whole.shape
    assert (image - whole).abs().max().item() < 1e-5


def test_restorer_tiles_like_the_whole_image():
    model = _dncnn(3)
    image = np.random.default_rng(0).random((100, 130, 3), dtype=np.float32)
    whole = ModelRestorer(model)(image)
    tiles = ModelRestorer(model, tile=48, overlap=30)(image)
    assert np.abs(tiles - whole).max() < 1e-5
    # too many pixels for one pass: tiles of the default size, same result
    assert np.abs(ModelRestorer(model, overlap=30, max_pixels=1000)(image) - whole).max() < 1e-5


def test_channels_last_restorer_matches_the_plain_network():
    model = _dncnn(3)
    image = scene(40, 52, 3)
    with torch.inference_mode():
        plain = model(torch.from_numpy(image.transpose(2, 0, 1).copy())[None]).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    restorer = ModelRestorer(model)
    assert np.abs(restorer(image) - plain).max() < 1e-5


def test_gan_in_tiles_gives_image_and_attention():
    gan = _small_gan(3)
    image = scene(50, 70, 3)
    out, attention = ModelRestorer(gan, tile=32, overlap=12).restore_with_attention(image)
    assert out.shape == (50, 70, 3) and attention.shape == (50, 70) and attention.dtype == np.float32
    # pixels only the first tile covers (the next ones start 32 - 12 = 20 pixels on) are that tile's output
    alone, alone_map = ModelRestorer(gan).restore_with_attention(np.ascontiguousarray(image[:32, :32]))
    assert np.abs(out[:20, :20] - alone[:20, :20]).max() < 1e-5
    assert np.abs(attention[:20, :20] - alone_map[:20, :20]).max() < 1e-5
    # and the seams are blended: no tile's output is simply pasted over its neighbour
    assert np.abs(out[:32, :32] - alone).max() > 1e-4
    # a grey photo through the colour GAN stays grey and keeps its map
    out, attention = ModelRestorer(gan, tile=32, overlap=12).restore_with_attention(scene(50, 70, 1))
    assert out.shape == (50, 70, 1) and attention.shape == (50, 70)


def test_ensemble_of_an_orientation_free_model_is_the_plain_output():
    model = Pointwise(3).eval()
    image = np.random.default_rng(1).random((31, 37, 3), dtype=np.float32)
    plain = ModelRestorer(model)(image)
    assert np.abs(ModelRestorer(model, ensemble=True)(image) - plain).max() < 1e-6
    assert np.abs(ModelRestorer(model, ensemble=True, tile=16, overlap=6)(image) - plain).max() < 1e-6


def test_self_ensemble_maps_every_output_back():
    x = torch.rand(1, 2, 5, 7)
    image, attention = self_ensemble(lambda t: (t * 2, t[:, :1]), x)
    assert torch.allclose(image, x * 2) and torch.allclose(attention, x[:, :1])


def test_ensemble_gan_averages_image_and_attention():
    gan = _small_gan(3)
    image = scene(21, 26, 3)
    out, attention = ModelRestorer(gan, ensemble=True).restore_with_attention(image)
    outs, maps = [], []
    for turns in range(4):
        for flip in (False, True):
            view = np.rot90(image, turns)[:, ::-1] if flip else np.rot90(image, turns)
            o, a = ModelRestorer(gan).restore_with_attention(np.ascontiguousarray(view))
            o, a = (o[:, ::-1], a[:, ::-1]) if flip else (o, a)
            outs.append(np.rot90(o, -turns))
            maps.append(np.rot90(a, -turns))
    assert np.abs(out - np.mean(outs, axis=0)).max() < 1e-4
    assert np.abs(attention - np.mean(maps, axis=0)).max() < 1e-4
    assert np.abs(outs[0] - outs[3]).max() > 1e-4  # the views differ, so the mean is not one of them


def test_tile_choice_and_bad_settings():
    assert tile_side(100, 100, None, 20_000) is None
    assert tile_side(100, 100, None, 5_000) == 512
    assert tile_side(100, 100, 64, 20_000) == 64
    with pytest.raises(ValueError, match="overlap"):
        ModelRestorer(_dncnn(1), tile=32, overlap=32)
    with pytest.raises(ValueError, match="overlap"):
        tiled(run_network(_dncnn(1)), torch.rand(1, 1, 8, 8), tile=8, overlap=8)


def test_precision_auto_uses_bf16_only_where_it_was_checked(monkeypatch):
    from agan.errors import InputError
    from agan.methods import precision

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(precision, "checks", lambda: {"good": {"delta_db": -0.01}, "bad": {"delta_db": -0.1}})
    monkeypatch.setattr(precision, "cpu_bf16_instructions", lambda: ("amx_bf16",))
    assert precision.use_bf16("auto", cpu, "good") and not precision.use_bf16("auto", cpu, "bad")
    assert not precision.use_bf16("auto", cpu, None)  # a checkpoint of one's own: fp32 unless asked
    assert precision.use_bf16("auto", cuda, None) and precision.use_bf16("bf16", cpu, None)
    assert not precision.use_bf16("fp32", cuda, "good")
    monkeypatch.setattr(precision, "cpu_bf16_instructions", lambda: ())
    assert not precision.use_bf16("auto", cpu, "good")  # emulated bf16 is slower than fp32
    with pytest.raises(InputError, match="precision 'fp16'"):
        precision.use_bf16("fp16", cpu)


def test_bf16_restorer_is_close_to_fp32_but_runs_in_bf16():
    model = _dncnn(3)
    image = scene(40, 52, 3)
    fp32 = ModelRestorer(model, precision="fp32")(image)
    bf16 = ModelRestorer(model, precision="bf16")
    assert bf16.bf16 and not ModelRestorer(model, precision="fp32").bf16
    difference = np.abs(bf16(image) - fp32)
    assert 0 < difference.max() < 0.05


def test_the_shipped_checks_cover_every_shipped_model():
    from agan.methods.precision import checks
    from agan.methods.shipped import shipped

    measured = checks()
    for name in shipped():
        assert {"psnr_fp32", "psnr_bf16", "delta_db", "data"} <= set(measured[name])
        assert measured[name]["delta_db"] == pytest.approx(measured[name]["psnr_bf16"] - measured[name]["psnr_fp32"],
                                                            abs=1e-3)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux only")
def test_reuse_freed_memory_takes_effect_on_linux():
    from agan.device import reuse_freed_memory

    assert reuse_freed_memory() is True  # mallopt accepted both settings (it returns 0 on a refused one)
