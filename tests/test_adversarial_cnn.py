"""``agan train dncnn|unet --adversarial``: a CNN trained against a patch discriminator with spectral norm."""

import json
import math

import pytest
import torch
from click.testing import CliRunner
from conftest import drop_checkpoints

from agan.cli import main
from agan.errors import InputError
from agan.nets.checkpoints import load_checkpoint
from agan.nets.patch_discriminator import PatchDiscriminator
from agan.training import release
from agan.training.config import resolve_config
from agan.training.engine import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"dncnn": {"depth": 5, "width": 16}, "unet": {"width": 8, "depth": 2}}


def _config(model, photos, out, **overrides):
    settings = {"data": f"synthetic:gaussian(sigma=25):{photos}", "out": str(out), "model_args": SMALL[model],
                "iters": 8, "batch": 2, "patch": 32, "lr": 2e-3, "log_every": 2, "save_every": 4,
                "adversarial": True, "adversarial_weight": 0.05, **overrides}
    return resolve_config(model, settings)


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model", ["dncnn", "unet"])
def test_an_adversarial_cnn_trains_both_networks_and_resumes_bit_identically(tmp_path, photos, model):
    whole = Trainer(_config(model, photos, tmp_path / "whole"), log=lambda *_: None)
    discriminator = whole.train_step.disc
    assert isinstance(discriminator, PatchDiscriminator)
    start = {k: v.clone() for k, v in discriminator.state_dict().items()}
    whole.fit()
    assert any(not torch.equal(v, discriminator.state_dict()[k]) for k, v in start.items())
    logged = [r for r in _records(tmp_path / "whole") if "train/g_total" in r]
    assert len(logged) == 4
    for record in logged:
        terms = {k: v for k, v in record.items() if k.startswith("train/")}
        assert {"train/content", "train/adversarial", "train/d_real", "train/d_fake", "train/d_total"} <= set(terms)
        assert all(math.isfinite(v) for v in terms.values())
        assert record["train/g_total"] == pytest.approx(record["train/content"] + 0.05 * record["train/adversarial"],
                                                        rel=1e-5)
    Trainer(_config(model, photos, tmp_path / "parts"), log=lambda *_: None).fit(stop_after=6)
    Trainer(_config(model, photos, tmp_path / "parts"), log=lambda *_: None).fit()
    a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "parts" / "checkpoints" / "last.pt")
    assert b["training"]["step"] == 8
    for key, value in a["weights"].items():
        assert torch.equal(value, b["weights"][key]), key
    for key, value in a["training"]["discriminator"].items():
        assert torch.equal(value, b["training"]["discriminator"][key]), key
    drop_checkpoints(tmp_path)


def test_an_adversarial_unet_starts_from_a_supervised_run_with_a_fresh_discriminator_and_releases(tmp_path, photos):
    Trainer(_config("unet", photos, tmp_path / "supervised", adversarial=False, iters=4), log=lambda *_: None).fit()
    supervised = load_checkpoint(tmp_path / "supervised" / "checkpoints" / "last.pt")
    assert "discriminator" not in supervised["training"]
    config = _config("unet", photos, tmp_path / "gan", iters=4, init=str(tmp_path / "supervised" / "checkpoints" / "last.pt"))
    trainer = Trainer(config, log=lambda *_: None)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, supervised["weights"][key]), key
    trainer.fit()
    weights, card = release.make_release(tmp_path / "gan", "unet-weather", out=tmp_path / "weights",
                                         checkpoint="last", data_root=photos.parent, echo=lambda *_: None)
    released = load_checkpoint(weights)
    assert released["model"] == "unet" and not any("parametrizations" in k for k in released["weights"])
    saved = json.loads(card.read_text())
    assert [stage["start"] for stage in saved["lineage"]] == ["scratch", "last.pt"]
    assert saved["losses"] == {"content": "l1", "adversarial_weight": 0.05}  # the card says a discriminator took part
    assert json.loads((tmp_path / "gan" / "config.json").read_text())["adversarial"] is True
    drop_checkpoints(tmp_path)


def test_a_card_says_what_the_network_was_trained_against():
    from agan.methods.card_fields import limitations_of

    gan = {"model": "attentive-gan", "status": "stable", "command": "x", "evaluations": []}
    warm_up = limitations_of({**gan, "losses": {"perceptual": "vgg", "adversarial_weight": 0.0}})
    assert any("without its discriminator" in line for line in warm_up)
    assert not any("perceptual" in line for line in warm_up)  # the card's record, not its command, says so
    full = limitations_of({**gan, "losses": {"perceptual": "none", "adversarial_weight": 0.01}})
    assert any("perceptual" in line for line in full) and not any("discriminator" in line for line in full)


def test_the_recipe_command_of_an_adversarial_run_repeats_the_flag(tmp_path):
    (tmp_path / "toy.json").write_text(json.dumps({"iters": 10}))
    config = {"model": "unet", "data": "x", "out": "y", "iters": 10, "adversarial": True}
    assert release.recipe_command("toy", config, tmp_path) == "bash scripts/recipes/toy.sh --adversarial"
    assert release.recipe_command("toy", {**config, "adversarial": False}, tmp_path) == "bash scripts/recipes/toy.sh"


def test_adversarial_is_refused_for_the_gan_which_has_its_own_discriminator(photos, tmp_path):
    with pytest.raises(InputError, match="attentive-gan always trains with its own discriminator"):
        resolve_config("attentive-gan", {"data": str(photos), "out": str(tmp_path), "adversarial": True})


def test_agan_train_adversarial_dry_run_names_the_discriminator(tmp_path, photos):
    result = CliRunner().invoke(main, ["train", "unet", "--adversarial", "--adversarial-weight", "0.005",
                                       "--data", f"synthetic:gaussian(sigma=25):{photos}", "--out", str(tmp_path / "r"),
                                       "--patch", "32", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "discriminator: PatchDiscriminator, 2,764,737 parameters, judges whole patches, GAN weight 0.005, vanilla GAN loss" in result.output


def test_the_patch_discriminator_is_spectrally_normalised_and_local():
    torch.manual_seed(0)
    net = PatchDiscriminator(in_channels=3)
    x = torch.rand(1, 3, 96, 96)
    for _ in range(20):  # power iterations settle in training mode
        net(x)
    net.eval()
    for module in net.body:
        if isinstance(module, torch.nn.Conv2d):
            sigma = float(torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2))
            assert sigma == pytest.approx(1.0, abs=0.05)
    with torch.no_grad():
        base = net(x)
        nudged = x.clone()
        nudged[..., 0:4, 0:4] += 0.5
        changed = (net(nudged) - base).abs()[0, 0] > 0
    # a corner nudge reaches only the logits whose 70x70 window holds it
    assert base.shape == (1, 1, 10, 10) and changed[0, 0] and not changed[-1, -1] and changed.sum() < 100
