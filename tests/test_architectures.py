import csv

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import scene

from agan.baselines.dncnn import DnCNN
from agan.cli import main
from agan.data.io import write_image
from agan.data.spec import SpecError
from agan.methods.registry import build_method
from agan.methods.restorer import ModelRestorer
from agan.nets.architectures import ARCHITECTURES, model_from_checkpoint
from agan.nets.checkpoints import CheckpointError, save_checkpoint


def _small_dncnn_checkpoint(path, in_channels=1):
    torch.manual_seed(0)
    model = DnCNN(in_channels=in_channels, depth=3, width=8)
    return save_checkpoint(path, model="dncnn", model_args=model.config, weights=model.state_dict()), model


def test_checkpoint_rebuilds_the_same_network(tmp_path):
    path, model = _small_dncnn_checkpoint(tmp_path / "d.pt")
    rebuilt, payload = model_from_checkpoint(path)
    assert payload["model"] == "dncnn" and not rebuilt.training
    x = torch.rand(1, 1, 20, 24)
    assert torch.allclose(rebuilt(x), model.eval()(x))


def test_a_unet_checkpoint_from_before_the_upsample_option_loads_with_transposed_convolutions(tmp_path):
    from agan.baselines.unet import UNet

    torch.manual_seed(0)
    model = UNet(3, width=4, depth=2, upsample="transpose").eval()
    old_args = {k: v for k, v in model.config.items() if k != "upsample"}  # what such a checkpoint stored
    path = save_checkpoint(tmp_path / "old.pt", model="unet", model_args=old_args, weights=model.state_dict())
    rebuilt, _ = model_from_checkpoint(path)
    x = torch.rand(1, 3, 20, 24)
    assert rebuilt.config["upsample"] == "transpose" and torch.equal(rebuilt(x), model(x))


@pytest.mark.parametrize("net_channels,image_channels", [(1, 1), (1, 3), (3, 3), (3, 1)])
def test_restorer_keeps_shape_and_range(tmp_path, net_channels, image_channels):
    path, _ = _small_dncnn_checkpoint(tmp_path / "d.pt", net_channels)
    restorer = ModelRestorer(model_from_checkpoint(path)[0])
    out = restorer(scene(31, 37, image_channels))
    assert out.shape == (31, 37, image_channels) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_checkpoint_as_a_method_with_post_filter(tmp_path):
    path, _ = _small_dncnn_checkpoint(tmp_path / "d.pt")
    method = build_method(f"{path}+gaussian(sigma=0.8)")
    assert method.label.endswith("d.pt+gaussian(sigma=0.8)")
    for i in range(2):
        write_image(tmp_path / "grey" / f"{i}.png", scene(40, 44, 1, seed=i))
    result = CliRunner().invoke(main, ["evaluate", str(path), "--data", f"synthetic:gaussian(sigma=25):{tmp_path / 'grey'}",
                                       "--no-lpips", "--csv", str(tmp_path / "e.csv")])
    assert result.exit_code == 0, result.output
    assert all(np.isfinite(float(r["psnr"])) for r in csv.DictReader((tmp_path / "e.csv").open()))


def test_architectures_and_bad_checkpoints(tmp_path):
    assert set(ARCHITECTURES) == {"attentive-gan", "dncnn", "unet"}
    with pytest.raises(SpecError, match="architecture without weights"):
        build_method("dncnn")
    save_checkpoint(tmp_path / "wrong.pt", model="dncnn", model_args={"in_channels": 1, "depth": 4, "width": 8},
                    weights=DnCNN(in_channels=1, depth=3, width=8).state_dict())
    with pytest.raises(CheckpointError, match="wrong.pt: weights do not fit dncnn"):
        build_method(str(tmp_path / "wrong.pt"))
    (tmp_path / "cut.pt").write_bytes((tmp_path / "wrong.pt").read_bytes()[:100])
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "cut.pt"), "--data", "."])
    assert result.exit_code == 1 and "cut.pt: not a readable checkpoint" in result.output
