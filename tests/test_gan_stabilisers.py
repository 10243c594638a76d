"""The GAN stabilisers of the field as settings: ESRGAN's relativistic average GAN loss
(``gan_loss``) and spectral norm on the attentive discriminator (``d_spectral_norm``)."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from conftest import drop_checkpoints

from agan.cli import main
from agan.errors import InputError
from agan.nets import AttentiveDiscriminator
from agan.nets.checkpoints import load_checkpoint
from agan.training import loss_terms
from agan.training.config import TrainConfig, resolve_config
from agan.training.engine import Trainer
from agan.training.losses import GANLoss

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL_GAN = {"att_width": 8, "ae_width": 8, "res_blocks": 1, "steps": 2}


def _inputs(gan_loss, real, fake):
    return loss_terms.LossInputs(SimpleNamespace(gan_loss=gan_loss), torch.zeros(1), torch.zeros(1),
                                 real_logit=real, fake_logit=fake, gan_loss=GANLoss())


def _bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits.detach(), torch.full_like(logits, float(label)))


def test_the_relativistic_loss_is_esrgans_and_vanilla_is_unchanged():
    real = torch.tensor([2.0, 0.5, 1.0], requires_grad=True)
    fake = torch.tensor([-1.0, 0.3, -0.2], requires_grad=True)
    vanilla, relativistic = _inputs("vanilla", real, fake), _inputs("relativistic", real, fake)

    def value(term, inputs):
        return float(term(inputs).detach())

    assert value(loss_terms._adversarial, vanilla) == pytest.approx(float(_bce(fake, 1)))
    assert value(loss_terms._on_real, vanilla) == pytest.approx(float(_bce(real, 1)))
    assert value(loss_terms._on_fake, vanilla) == pytest.approx(float(_bce(fake, 0)))
    # D(x_r, x_f) = sigmoid(C(x_r) - E[C(x_f)]) and the other way round (Wang et al. 2018, eqs. 1-2)
    g = 0.5 * (_bce(real - fake.mean(), 0) + _bce(fake - real.mean(), 1))
    assert value(loss_terms._adversarial, relativistic) == pytest.approx(float(g))
    assert value(loss_terms._on_real, relativistic) == pytest.approx(float(_bce(real - fake.mean(), 1)))
    assert value(loss_terms._on_fake, relativistic) == pytest.approx(float(_bce(fake - real.mean(), 0)))
    # D's terms do not move the other side's logits (they are that side's detached mean)
    loss_terms._on_real(relativistic).backward()
    assert real.grad is not None and fake.grad is None
    real.grad = None
    loss_terms._on_fake(relativistic).backward()
    assert fake.grad is not None and real.grad is None
    # the generator's term does not move the real logits either (D is not trained in its step)
    fake.grad = None
    loss_terms._adversarial(relativistic).backward()
    assert fake.grad is not None and real.grad is None
    # both are at chance when D cannot tell the two apart: log 2 each
    even = _inputs("relativistic", torch.zeros(4), torch.zeros(4))
    assert float(loss_terms._on_real(even) + loss_terms._on_fake(even)) == pytest.approx(2 * math.log(2))


def test_spectral_norm_keeps_the_discriminator_and_bounds_each_layer():
    plain, normed = AttentiveDiscriminator(), AttentiveDiscriminator(spectral_norm=True)
    count = sum(p.numel() for p in plain.parameters())
    assert sum(p.numel() for p in normed.parameters()) == count == 1_313_202
    assert normed.config == {"in_channels": 3, "spectral_norm": True}
    x = torch.rand(2, 3, 32, 32)
    for _ in range(30):  # each training-mode forward runs one power iteration
        out = normed(x)
    assert out.logit.shape == (2,) and out.d_map.shape == (2, 1, 32, 32)
    layers = [m for m in normed.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 10
    for layer in layers:
        largest = float(torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2))
        assert largest == pytest.approx(1.0, rel=0.05)
    plain_largest = [float(torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2))
                     for m in plain.modules() if isinstance(m, torch.nn.Conv2d)]
    assert max(plain_largest) > 1.5  # He initialisation: spectral norm is what bounds them


def _config(photos, out, **overrides):
    settings = {"data": f"synthetic:scribble:{photos}", "out": str(out), "model_args": SMALL_GAN, "iters": 8,
                "batch": 2, "patch": 32, "lr": 2e-3, "log_every": 2, "save_every": 4, "perceptual": "none",
                "gan_loss": "relativistic", "d_spectral_norm": True, **overrides}
    return resolve_config("attentive-gan", settings)


def test_a_relativistic_gan_with_spectral_norm_trains_and_resumes_bit_identically(tmp_path, photos):
    whole = Trainer(_config(photos, tmp_path / "whole"), log=lambda *_: None)
    assert whole.train_step.disc.config["spectral_norm"]
    whole.fit()
    records = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "train/d_total" in r]
    assert len(logged) == 4
    assert all(math.isfinite(v) for r in logged for k, v in r.items() if k.startswith("train/"))
    Trainer(_config(photos, tmp_path / "parts"), log=lambda *_: None).fit(stop_after=6)
    Trainer(_config(photos, tmp_path / "parts"), log=lambda *_: None).fit()
    a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "parts" / "checkpoints" / "last.pt")
    for key, value in a["weights"].items():
        assert torch.equal(value, b["weights"][key]), key
    for key, value in a["training"]["discriminator"].items():  # the power iteration's vectors included
        assert torch.equal(value, b["training"]["discriminator"][key]), key
    assert any("parametrizations" in key for key in a["training"]["discriminator"])
    # a stage with the other discriminator starts from these weights with a fresh D
    Trainer(_config(photos, tmp_path / "next", d_spectral_norm=False, iters=2, init=str(tmp_path / "whole" / "checkpoints" / "last.pt")),
            log=lambda *_: None).fit()
    assert "conv_map.weight" in load_checkpoint(tmp_path / "next" / "checkpoints" / "last.pt")["training"]["discriminator"]
    drop_checkpoints(tmp_path)


def test_the_options_on_the_command_line(tmp_path, photos):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "attentive-gan", "--data", f"synthetic:scribble:{photos}", "--out",
                                  str(tmp_path / "run"), "--gan-loss", "relativistic", "--d-spectral-norm", "--patch", "32",
                                  "--perceptual", "none", "--lr-d", "5e-5", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "AttentiveDiscriminator, spectral norm" in result.output and "relativistic GAN loss" in result.output
    assert '"lr_d": 5e-05' in result.output and '"d_spectral_norm": true' in result.output
    result = runner.invoke(main, ["train", "unet", "--data", f"synthetic:scribble:{photos}", "--out",
                                  str(tmp_path / "cnn"), "--adversarial", "--d-spectral-norm", "--patch", "32", "--dry-run"])
    assert result.exit_code != 0 and "patch discriminator always has it" in result.output
    with pytest.raises(InputError, match="gan_loss"):
        TrainConfig(model="attentive-gan", data="x", out="y", gan_loss="hinge").check()


def test_the_step_at_which_the_discriminator_leaves_chance():
    from agan.training.plot import left_chance_at

    at_chance = [{"step": s, "train/d_total": 1.39} for s in range(0, 50, 10)]
    assert left_chance_at(at_chance) is None
    learning = at_chance + [{"step": 50 + s, "train/d_total": 1.0} for s in range(0, 30, 10)]
    assert left_chance_at(learning) == 50  # smoothed (0.6): 1.39 -> 1.234, below 2 ln 2 - 0.02 at once
    assert left_chance_at([{"step": 5, "train/total": 0.1}]) is None  # no discriminator
