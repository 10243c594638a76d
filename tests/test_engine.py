import json
import math
import shutil
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from agan.checkpoints import load_checkpoint
from agan.cli import main
from agan.engine import Trainer, TrainingError, lr_factor
from agan.train_config import TrainConfig, resolve_config
from data.io import write_image

from conftest import scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {
    "dncnn": {"depth": 5, "width": 16},
    "unet": {"width": 8, "depth": 2},
    "attentive-gan": {"att_width": 8, "ae_width": 8, "res_blocks": 1, "steps": 2},
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for i in range(4):
        write_image(folder / f"p{i}.png", scene(48, 56, seed=i))
    return folder


def _config(model, photos, out, **overrides):
    settings = {"data": f"synthetic:gaussian(sigma=25):{photos}", "out": str(out), "model_args": SMALL[model],
                "iters": 30, "batch": 2, "patch": 32, "lr": 2e-3, "log_every": 5, "save_every": 10,
                "perceptual": "none", "schedule": "constant", **overrides}
    return resolve_config(model, settings)


def _losses(run, key):
    return [r[key] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if key in r]


@pytest.mark.parametrize("model", ["dncnn", "unet", "attentive-gan"])
def test_thirty_steps_lower_the_training_loss(tmp_path, photos, model):
    data = f"synthetic:scribble+gaussian(sigma=10):{photos}" if model == "attentive-gan" else None
    extra = {"data": data, "val": data, "val_every": 30, "val_limit": 2} if data else {}
    config = _config(model, photos, tmp_path / model, **extra)
    Trainer(config, log=lambda *_: None).fit()
    key = "train/g_total" if model == "attentive-gan" else "train/total"
    values = _losses(tmp_path / model, key)
    assert len(values) == 6 and all(math.isfinite(v) for v in values)
    assert values[-1] < values[0]
    if model == "attentive-gan":
        assert _losses(tmp_path / model, "train/d_total") and _losses(tmp_path / model, "train/attention")
        auc = _losses(tmp_path / model, "val/attention_auc")
        assert len(auc) == 1 and 0.0 <= auc[0] <= 1.0
    payload = torch.load(tmp_path / model / "checkpoints" / "last.pt", weights_only=True)
    assert payload["training"]["step"] == 30 and payload["model"] == model


@pytest.mark.parametrize("model", ["dncnn", "attentive-gan"])
def test_resume_is_bit_identical(tmp_path, photos, model):
    whole = _config(model, photos, tmp_path / "whole", iters=12, save_every=4, schedule="cosine")
    Trainer(whole, log=lambda *_: None).fit()
    parts = _config(model, photos, tmp_path / "parts", iters=12, save_every=4, schedule="cosine")
    Trainer(parts, log=lambda *_: None).fit(stop_after=6)  # interrupted between two save points
    assert load_checkpoint(tmp_path / "parts" / "checkpoints" / "last.pt")["training"]["step"] == 6
    Trainer(_config(model, photos, tmp_path / "parts", iters=12, save_every=4, schedule="cosine"),
            log=lambda *_: None).fit()
    a = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "parts" / "checkpoints" / "last.pt")
    for key, value in a["weights"].items():
        assert torch.equal(value, b["weights"][key]), key
    if model == "attentive-gan":
        for key, value in a["training"]["discriminator"].items():
            assert torch.equal(value, b["training"]["discriminator"][key]), key


def test_cosine_schedule_ends_at_its_floor_and_stays_there():
    config = TrainConfig(model="dncnn", data="x", out="y", iters=100, schedule="cosine", min_lr_ratio=0.01)
    factors = [lr_factor(config, step) for step in range(0, 131)]
    assert factors[0] == 1.0 and factors[50] == pytest.approx(0.505)
    assert all(a >= b for a, b in zip(factors, factors[1:]))  # torch's CosineAnnealingLR climbs again after T_max
    assert factors[100] == factors[130] == pytest.approx(0.01)


def test_a_moved_run_resumes_in_its_new_folder_on_the_longer_schedule(tmp_path, photos):
    settings = {"model_args": SMALL["dncnn"], "batch": 2, "patch": 32, "lr": 1e-3, "log_every": 2, "save_every": 2,
                "schedule": "cosine", "perceptual": "none"}
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    runner = CliRunner()
    result = runner.invoke(main, ["train", "dncnn", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--out",
                                  str(tmp_path / "a"), "--iters", "4", "--config", str(tmp_path / "settings.json")])
    assert result.exit_code == 0, result.output
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    result = runner.invoke(main, ["train", "dncnn", "--out", str(tmp_path / "b"), "--iters", "8"])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["training"]["step"] == 4
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["training"]["step"] == 8
    config = TrainConfig.from_json(json.loads((tmp_path / "b" / "config.json").read_text()))
    assert config.iters == 8 and config.out == str(tmp_path / "b")
    lrs = {r["step"]: r["lr"] for r in map(json.loads, (tmp_path / "b" / "metrics.jsonl").read_text().splitlines())}
    for step in (6, 8):
        assert lrs[step] == pytest.approx(1e-3 * lr_factor(config, step))
    assert lrs[4] == pytest.approx(1e-5)  # the end of the 4-step schedule
    assert lrs[6] > lrs[8] == pytest.approx(1e-5)


def test_non_finite_loss_names_step_and_term(tmp_path, photos, monkeypatch):
    trainer = Trainer(_config("dncnn", photos, tmp_path / "nan", iters=8, save_every=2), log=lambda *_: None)
    real_step = trainer.supervised_step
    calls = []

    def flaky(degraded, clean):
        calls.append(1)
        return {"total": float("nan")} if len(calls) == 5 else real_step(degraded, clean)

    monkeypatch.setattr(trainer, "supervised_step", flaky)
    with pytest.raises(TrainingError, match=r"step 5: loss term total is nan; the last good checkpoint is .*last.pt"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "nan" / "checkpoints" / "last.pt")["training"]["step"] == 4


def test_guards_before_training(tmp_path, photos):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "dncnn", "--data", f"synthetic:gaussian:{photos}", "--out", str(tmp_path / "r"),
                                  "--patch", "64"])
    assert result.exit_code == 1 and "image smaller than the 64-pixel patch" in result.output
    result = runner.invoke(main, ["train", "resnet", "--data", str(photos), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "unknown model 'resnet'" in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(main, ["train", "unet", "--data", f"synthetic:gaussian:{tmp_path / 'empty'}", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "no images" in result.output
    assert not (tmp_path / "r").exists()


def test_perceptual_loss_without_cached_weights_is_a_clear_error(tmp_path, photos, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty-hub"))
    result = CliRunner().invoke(main, ["train", "attentive-gan", "--data", f"synthetic:raindrop:{photos}",
                                       "--out", str(tmp_path / "gan"), "--patch", "32"])
    assert result.exit_code == 1
    assert "VGG16 ImageNet weights are not in the torch hub cache" in result.output and "--perceptual none" in result.output
    assert not (tmp_path / "gan").exists()


def test_dry_run_and_plot(tmp_path, photos):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "attentive-gan", "--data", f"synthetic:raindrop:{photos}", "--out",
                                  str(tmp_path / "gan"), "--perceptual", "none", "--patch", "32", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "6,244,362 parameters" in result.output and not (tmp_path / "gan").exists()
    config = _config("unet", photos, tmp_path / "u", iters=10, val=f"synthetic:gaussian(sigma=25):{photos}",
                     val_every=5, val_limit=2)
    Trainer(config, log=lambda *_: None).fit()
    assert _losses(tmp_path / "u", "val/psnr") and (tmp_path / "u" / "samples" / "step_000010.png").exists()
    result = runner.invoke(main, ["plot", str(tmp_path / "u"), "-o", str(tmp_path / "curves.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_process_gloo_ddp_writes_one_checkpoint(tmp_path, photos):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "agan.cli",
               "train", "dncnn", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--out", str(run),
               "--iters", "4", "--batch", "2", "--patch", "32", "--save-every", "4", "--device", "cpu",
               "--config", str(_write(tmp_path / "small.json", {"model_args": SMALL["dncnn"]}))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**_env(), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    assert load_checkpoint(run / "checkpoints" / "last.pt")["training"]["step"] == 4
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1  # rank 0 alone logs


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def _env():
    import os

    return dict(os.environ)


def test_a_set_mixing_grey_and_colour_trains_in_colour(tmp_path, photos):
    mixed = tmp_path / "mixed"
    for i in range(2):
        write_image(mixed / f"c{i}.png", scene(48, 56, seed=i))
    write_image(mixed / "g.png", scene(48, 56, channels=1, seed=5))
    config = _config("unet", photos, tmp_path / "run", data=f"synthetic:gaussian(sigma=25):{mixed}", iters=4)
    Trainer(config, log=lambda *_: None).fit()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["grey"] is False and saved["model_args"]["in_channels"] == 3
