"""agan's tables: every architecture, loss term and metric is tested by being listed, and a new
member of each (added here, in the test) is trained, evaluated and reported with no other change."""

import json

import numpy as np
import pytest
import torch
from conftest import drop_checkpoints, scene
from torch import nn

from agan.data.io import write_image
from agan.evaluation import metrics
from agan.evaluation.compare import score_on
from agan.evaluation.report import markdown_table, summarize
from agan.methods.registry import build_method
from agan.methods.restorer import ModelRestorer
from agan.nets import architectures
from agan.nets.architectures import ARCHITECTURES, Architecture, architecture_of, model_from_checkpoint
from agan.nets.checkpoints import save_checkpoint
from agan.training import loss_terms, release
from agan.training.config import resolve_config
from agan.training.engine import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Small constructor arguments for the listed architectures (a new one is tested at its defaults).
SMALL = {"dncnn": {"depth": 4, "width": 8}, "unet": {"width": 4, "depth": 2},
         "attentive-gan": {"att_width": 4, "ae_width": 4, "res_blocks": 1, "steps": 2}}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_every_architecture_keeps_the_facts_of_its_entry(tmp_path, name):
    entry = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = entry.build(in_channels=3, **SMALL.get(name, {})).eval()
    assert architecture_of(model) is entry
    x = torch.rand(2, 3, 21, 26)  # not a multiple of anything: the network pads inside
    with torch.no_grad():
        image, attention = entry.outputs(model(x))
    assert image.shape == x.shape and torch.isfinite(image).all()
    assert (attention is not None) == entry.attention
    if attention is not None:
        assert attention.shape == (2, 1, 21, 26)
    if entry.predicts_noise:  # trained on its residual: restored = input - predicted noise
        with torch.no_grad():
            assert torch.allclose(image, x - model.predict_noise(x), atol=1e-6)
    multiple = entry.size_multiple(model.config)
    assert multiple >= 1 and (multiple & (multiple - 1)) == 0
    # a checkpoint rebuilds the same network, and it restores an HWC image of any size within [0, 1]
    path = save_checkpoint(tmp_path / f"{name}.pt", model=name, model_args=model.config, weights=model.state_dict())
    rebuilt, _ = model_from_checkpoint(path)
    with torch.no_grad():
        assert torch.equal(entry.outputs(rebuilt(x))[0], image)
    restored = ModelRestorer(rebuilt, precision="fp32")(scene(23, 29, 3))
    assert restored.shape == (23, 29, 3) and 0 <= restored.min() and restored.max() <= 1
    assert resolve_config(name, {"data": "x", "out": "y"}).lr == entry.defaults.get("lr", 2e-4)


class ToyNet(nn.Module):
    """A new network, as a contributor would add one: two convolutions and a residual."""

    def __init__(self, in_channels: int = 3, width: int = 8) -> None:
        super().__init__()
        self.config = {"in_channels": in_channels, "width": width}
        self.in_channels = in_channels
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(width, in_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _total_variation(inputs: loss_terms.LossInputs) -> torch.Tensor:
    image = inputs.image
    return (image[..., 1:, :] - image[..., :-1, :]).abs().mean() + (image[..., 1:] - image[..., :-1]).abs().mean()


def _mean_absolute_error(output, target, lpips_metric, conventions):
    return float(np.abs(output.astype(np.float64) - target).mean())


def test_a_new_network_loss_term_and_metric_are_each_one_entry(tmp_path, monkeypatch):
    monkeypatch.setitem(ARCHITECTURES, "toy", Architecture("toy", ToyNet, "a toy network", defaults={"lr": 1e-3}))
    monkeypatch.setitem(loss_terms.CNN_GENERATOR, "tv", loss_terms.LossTerm(0.1, _total_variation))
    monkeypatch.setitem(metrics.METRICS, "mae", metrics.Metric("MAE", _mean_absolute_error, 4, higher_is_better=False))
    photos = tmp_path / "photos"
    for i in range(3):
        write_image(photos / f"p{i}.png", scene(48, 56, seed=i))
    data = f"synthetic:gaussian(sigma=25):{photos}"
    run = tmp_path / "run"
    config = resolve_config("toy", {"data": data, "val": data, "out": str(run), "iters": 4, "batch": 2, "patch": 32,
                                    "val_every": 4, "save_every": 4})
    assert config.lr == 1e-3  # the entry's default
    Trainer(config, log=lambda *_: None).fit()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    trained = [r for r in records if "train/tv" in r]
    assert trained and all(r["train/total"] == pytest.approx(r["train/content"] + 0.1 * r["train/tv"], rel=1e-5)
                           for r in trained)
    assert any("val/mae" in r for r in records)  # validated with the new metric
    checkpoint = run / "checkpoints" / "last.pt"
    # evaluated and reported: a comparison's rows, its table, and a release's card
    _, rows, _, _ = score_on(data, [build_method("input"), build_method(str(checkpoint))])
    summary = summarize(rows)
    assert all(row["mae"] > 0 for row in summary)
    assert "| MAE |" in markdown_table(summary).splitlines()[0]
    evaluation = release.evaluate_release(checkpoint, "toy", data, data_root=tmp_path)
    assert {"mae", "mae_y"} <= set(evaluation["results"][0])
    assert "MAE" in release.evaluation_text(evaluation)
    drop_checkpoints(tmp_path)


def test_a_network_of_your_own_restores_without_an_entry():
    model = ToyNet(3).eval()
    assert architectures.architecture_of(model, foreign=True) is architectures.FOREIGN
    with pytest.raises(ValueError, match="ToyNet is not one of agan's architectures"):
        architecture_of(model)
    assert ModelRestorer(model, precision="fp32")(scene(20, 24, 3)).shape == (20, 24, 3)


def test_a_new_gan_loss_term_is_one_entry(monkeypatch):
    from agan.nets import AttentiveDiscriminator, AttentiveGenerator
    from agan.training.config import TrainConfig
    from agan.training.steps import build_step

    monkeypatch.setitem(loss_terms.GAN_GENERATOR, "tv", loss_terms.LossTerm(0.5, _total_variation))
    config = TrainConfig(model="attentive-gan", data="x", out="y", patch=32, perceptual="none")
    torch.manual_seed(0)
    step = build_step(config, AttentiveGenerator(**SMALL["attentive-gan"]), AttentiveDiscriminator(), None,
                      torch.device("cpu"))
    clean = torch.rand(2, 3, 32, 32)
    degraded = (clean + 0.2 * torch.rand_like(clean)).clamp(0, 1)
    mask = (degraded - clean).abs().amax(1, keepdim=True).gt(0.1).float()
    terms = step.run(degraded, clean, mask)
    expected = terms["attention"] + terms["multiscale"] + 0.01 * terms["adversarial"] + 0.5 * terms["tv"]
    assert terms["g_total"] == pytest.approx(expected, rel=1e-5) and "d_total" in terms
