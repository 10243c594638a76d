import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import drop_checkpoints, scene

from agan.cli import main
from agan.data.io import read_image, write_image
from agan.methods import shipped as pretrained
from agan.nets.checkpoints import load_checkpoint
from agan.training import engine as engine_module
from agan.training import release
from agan.training.config import TrainConfig, resolve_config, resume_changes
from agan.training.engine import Trainer, TrainingError
from agan.training.state import lr_factor

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {
    "dncnn": {"depth": 5, "width": 16},
    "unet": {"width": 8, "depth": 2},
    "attentive-gan": {"att_width": 8, "ae_width": 8, "res_blocks": 1, "steps": 2},
}


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
    drop_checkpoints(tmp_path)


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
    drop_checkpoints(tmp_path)


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
    real_step = trainer.train_step.run
    calls = []

    def flaky(degraded, clean, mask):
        calls.append(1)
        return {"total": float("nan")} if len(calls) == 5 else real_step(degraded, clean, mask)

    monkeypatch.setattr(trainer.train_step, "run", flaky)
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
    assert saved["model_args"]["upsample"] == "bilinear"  # stored explicitly: older U-Net runs meant "transpose"


def test_a_unet_run_from_before_the_upsample_option_resumes_with_its_transposed_convolutions(tmp_path, photos):
    from agan.baselines.unet import UNet
    from agan.training.config import config_for_run

    run = tmp_path / "old"
    Trainer(_config("unet", photos, run, iters=2, save_every=2, model_args={**SMALL["unet"], "upsample": "transpose"}),
            log=lambda *_: None).fit()
    saved = json.loads((run / "config.json").read_text())
    del saved["model_args"]["upsample"]  # as a run folder written before the option has it
    (run / "config.json").write_text(json.dumps(saved))
    config = config_for_run("unet", run, None, None, None, {"iters": 4}, report=lambda *_: None)
    assert config.model_args["upsample"] == "transpose"
    trainer = Trainer(config, log=lambda *_: None)
    assert isinstance(trainer.model, UNet) and trainer.model.config["upsample"] == "transpose"
    trainer.fit()


def test_a_joined_validation_spec_logs_each_part_and_picks_best_on_the_mean(tmp_path, photos):
    val = f"synthetic:gaussian(sigma=25):{photos}; synthetic:gaussian(sigma=50):{photos}"
    config = _config("dncnn", photos, tmp_path / "run", iters=10, val=val, val_every=5, val_limit=2)
    Trainer(config, log=lambda *_: None).fit()
    records = [r for r in map(json.loads, (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())
               if "val/psnr" in r]
    assert len(records) == 2
    for record in records:
        parts = [v for k, v in record.items() if k.startswith("val/psnr@")]
        assert len(parts) == 2 and parts[0] > parts[1]  # sigma 25 is easier than sigma 50
        assert record["val/psnr"] == pytest.approx(sum(parts) / 2)


# ------------------------------------------------------------------ issue 12: training that never loses work
def test_resume_reads_the_checkpoint_on_the_cpu_whatever_the_training_device(tmp_path, photos):
    """A run saved on one device resumes on another: the checkpoint is read on the CPU (RNG states must
    stay CPU tensors) and moved. The 'meta' device stands in for a GPU, which CI does not have: loading
    the checkpoint onto the training device, as before, failed there as it failed on CUDA."""
    Trainer(_config("dncnn", photos, tmp_path / "run", iters=4, save_every=4), log=lambda *_: None).fit()
    trainer = Trainer(_config("dncnn", photos, tmp_path / "run", iters=8, save_every=4), log=lambda *_: None)
    trainer.device = torch.device("meta")
    trainer.resume(tmp_path / "run" / "checkpoints" / "last.pt")
    assert trainer.step == 4
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(value, saved["training"]["model"][key]), key


@pytest.mark.parametrize("source", ["checkpoint", "release"])
def test_init_starts_from_given_weights_with_a_fresh_optimizer(tmp_path, photos, monkeypatch, source):
    Trainer(_config("dncnn", photos, tmp_path / "first", iters=6, save_every=6), log=lambda *_: None).fit()
    start = tmp_path / "first" / "checkpoints" / "last.pt"
    if source == "release":
        monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "weights")
        release.make_release(tmp_path / "first", "dncnn-gray-s25", checkpoint="last", data_root=photos.parent,
                             echo=lambda *_: None)
        start = "dncnn-gray-s25"
    config = _config("dncnn", photos, tmp_path / "tuned", iters=3, save_every=3, init=str(start))
    config.model_args = {}  # the architecture comes from the starting weights
    trainer = Trainer(config, log=lambda *_: None)
    first = load_checkpoint(tmp_path / "first" / "checkpoints" / "last.pt")["weights"]
    tol = 1e-3 if source == "release" else 0  # a release holds fp16 weights
    for key, value in trainer.model.state_dict().items():
        assert torch.allclose(value.float(), first[key].float(), atol=tol), key
    assert trainer.step == 0 and not trainer.optimizer.state
    trainer.fit()
    saved = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert saved["init"] == str(start) and saved["model_args"] == SMALL["dncnn"] | {"in_channels": 3}
    # the release of the fine-tuned run records both stages
    card = release.card_from_run(tmp_path / "tuned", "dncnn-gray-s25", data_root=photos.parent)
    first, second = card["lineage"]
    assert second["start"] == ("dncnn-gray-s25" if source == "release" else "last.pt") and second["steps"] == 3
    assert first["start"] == "scratch" and first["steps"] == 6
    if source == "release":
        assert first["hardware"] == f"cpu, {torch.get_num_threads()} threads" and first["minutes"] >= 0
        assert first == pretrained.load_card("dncnn-gray-s25")["lineage"][0]
    with pytest.raises(TrainingError, match="holds a dncnn network, not unet"):
        Trainer(_config("unet", photos, tmp_path / "x", init=str(tmp_path / "first" / "checkpoints" / "last.pt")),
                log=lambda *_: None)


def test_minutes_sets_the_schedule_from_the_measured_speed(tmp_path, photos):
    config = _config("dncnn", photos, tmp_path / "run", iters=5, minutes=0.15, schedule="cosine",
                     val=f"synthetic:gaussian(sigma=25):{photos}", val_every=20, val_limit=1, log_every=1)
    messages = []
    Trainer(config, log=messages.append).fit()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["training"]
    assert saved["iters"] > 5 and last["step"] == saved["iters"]  # the schedule ran to its end
    assert any("the schedule ends at step" in m for m in messages)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["lr"] == pytest.approx(config.lr * config.min_lr_ratio)
    assert "val/psnr" in records[-1] and (tmp_path / "run" / "checkpoints" / "best.pt").exists()


def test_sigint_writes_last_pt_and_exits_130_then_the_run_resumes(tmp_path, photos):
    import os
    import signal
    import time

    run = tmp_path / "run"
    small = _write(tmp_path / "small.json", {"model_args": SMALL["dncnn"], "log_every": 1, "save_every": 1000})
    command = [sys.executable, "-m", "agan.cli", "train", "dncnn", "--data", f"synthetic:gaussian(sigma=25):{photos}",
               "--out", str(run), "--iters", "100000", "--batch", "2", "--patch", "32", "--config", str(small)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**_env(), "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not ((run / "metrics.jsonl").exists() and len((run / "metrics.jsonl").read_text().splitlines()) >= 3):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read() if process.poll() else ""
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "SIGINT at step" in stderr and "run the same command to resume" in stderr
    step = load_checkpoint(run / "checkpoints" / "last.pt")["training"]["step"]
    assert step >= 3
    result = CliRunner().invoke(main, ["train", "dncnn", "--out", str(run), "--iters", str(step + 2)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(run / "checkpoints" / "last.pt")["training"]["step"] == step + 2


def test_non_finite_weights_are_never_saved(tmp_path, photos, monkeypatch):
    trainer = Trainer(_config("dncnn", photos, tmp_path / "run", iters=6, save_every=2, log_every=1),
                      log=lambda *_: None)
    real_step = trainer.train_step.run

    def poisoning(degraded, clean, mask):
        terms = real_step(degraded, clean, mask)
        if trainer.step == 3:  # the loss of the step to 4 (a save point) was finite, its update was not
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("inf"))
        return terms

    monkeypatch.setattr(trainer.train_step, "run", poisoning)
    with pytest.raises(TrainingError, match=r"step 4: the model's weights are not finite; (best|last).pt not written, .* kept"):
        trainer.fit()
    for name in ("last.pt", "best.pt"):
        saved = load_checkpoint(tmp_path / "run" / "checkpoints" / name)
        assert saved["training"]["step"] == 2
        assert all(torch.isfinite(v).all() for v in saved["weights"].values() if v.is_floating_point())


def test_a_run_folder_trains_in_one_process_at_a_time(tmp_path, photos):
    from agan.training.guard import RunLock, RunLocked

    with RunLock(tmp_path / "run"):
        with pytest.raises(RunLocked, match="already being trained by pid"):
            Trainer(_config("dncnn", photos, tmp_path / "run", iters=2), log=lambda *_: None).fit()
        result = CliRunner().invoke(main, ["train", "dncnn", "--data", f"synthetic:gaussian:{photos}", "--out",
                                           str(tmp_path / "run"), "--patch", "32", "--iters", "2"])
        assert result.exit_code == 1 and "already being trained" in result.output
    Trainer(_config("dncnn", photos, tmp_path / "run", iters=2), log=lambda *_: None).fit()  # free again


def test_a_data_file_that_cannot_be_read_writes_last_pt_and_is_named(tmp_path, photos, monkeypatch):
    """Photos too many to keep decoded are read for each patch; a read that fails after the retries
    stops the run with last.pt written and the file named."""
    import agan.data.datasets
    import agan.training.engine

    monkeypatch.setattr(agan.data.datasets, "READ_RETRY_SECONDS", (0.0,))
    monkeypatch.setattr(agan.training.engine, "PRELOAD_BYTES", 0)  # read each patch's photo from disk
    folder = tmp_path / "photos"
    shutil.copytree(photos, folder)
    trainer = Trainer(_config("dncnn", photos, tmp_path / "run", data=f"synthetic:gaussian:{folder}", iters=50,
                              save_every=100), log=lambda *_: None)
    real_step = trainer.train_step.run

    def breaking(degraded, clean, mask):
        if trainer.step == 3:
            for path in folder.iterdir():
                path.write_bytes(b"")  # the disk drops out
        return real_step(degraded, clean, mask)

    monkeypatch.setattr(trainer.train_step, "run", breaking)
    with pytest.raises(TrainingError, match=r"photos/p\d\.png: .*at step \d+; last.pt holds it"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["training"]["step"] >= 3


def test_a_resume_says_which_changed_options_take_effect(tmp_path, photos):
    runner = CliRunner()
    args = ["train", "dncnn", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--out", str(tmp_path / "r"),
            "--patch", "32", "--batch", "2", "--config", str(_write(tmp_path / "s.json", {"model_args": SMALL["dncnn"]}))]
    assert runner.invoke(main, args + ["--iters", "2"]).exit_code == 0
    result = runner.invoke(main, args + ["--iters", "4", "--lr", "0.5"])
    assert result.exit_code == 0, result.output
    assert "resume: iters 2 -> 4 (takes effect)" in result.stderr
    assert "resume: lr 0.5 ignored: the run was started with 0.001" in result.stderr


def test_a_resume_of_a_run_that_holds_more_model_arguments_reports_no_change():
    # as a fine-tune's run folder has it: the --init release added in_channels to the recipe's model_args
    config = TrainConfig(model="dncnn", data="x", out="y", model_args={"in_channels": 1, "depth": 17}, iters=10)
    assert resume_changes(config, {"model_args": {"depth": 17}, "iters": 20}) == ["resume: iters 10 -> 20 (takes effect)"]
    lines = resume_changes(config, {"model_args": {"depth": 9}})
    assert lines == ["resume: model_args {'depth': 9} ignored: the run was started with {'in_channels': 1, 'depth': 17} "
                     "(train into a new --out, or use --init, to change it)"]
    assert config.model_args == {"in_channels": 1, "depth": 17}


def test_bf16_autocast_trains_on_the_cpu(tmp_path, photos, monkeypatch):
    # as on a CPU with AMX / AVX-512 BF16 (elsewhere bf16 is emulated: slow, but the same numbers)
    monkeypatch.setattr(engine_module, "cpu_bf16_instructions", lambda: ("amx_bf16",))
    fp32 = Trainer(_config("unet", photos, tmp_path / "fp32", iters=4), log=lambda *_: None)
    bf16 = Trainer(_config("unet", photos, tmp_path / "bf16", iters=4, amp="bf16"), log=lambda *_: None)
    assert bf16.amp_dtype == torch.bfloat16 and fp32.amp_dtype is None
    convs = [p for p in bf16.model.parameters() if p.dim() == 4 and p.shape[2] > 1]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    fp32.fit()
    bf16.fit()
    a, b = (_losses(tmp_path / name, "train/total") for name in ("fp32", "bf16"))
    assert all(math.isfinite(v) for v in b) and a != b  # bf16 rounding shows in the loss
    assert b[-1] == pytest.approx(a[-1], rel=0.1)


def test_bf16_falls_back_to_fp32_on_a_cpu_that_would_emulate_it(tmp_path, photos, monkeypatch):
    monkeypatch.setattr(engine_module, "cpu_bf16_instructions", lambda: ())
    notes: list[str] = []
    trainer = Trainer(_config("unet", photos, tmp_path / "run", iters=1, amp="bf16"), log=notes.append)
    assert trainer.amp_dtype is None and not trainer._channels_last
    assert any("no AMX or AVX-512 BF16" in note and "fp32" in note for note in notes)


def test_share_weather_reaches_the_training_patches(tmp_path, photos):
    config = _config("unet", photos, tmp_path / "run", iters=2, data=f"synthetic:rain:{photos}", share_weather=3)
    trainer = Trainer(config, log=lambda *_: None)
    assert trainer.train_set.share == 3
    trainer.fit()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["share_weather"] == 3
    with pytest.raises(Exception, match="share_weather must be at least 1"):
        _config("unet", photos, tmp_path / "bad", share_weather=0).check()


def test_warmup_ramps_the_learning_rate_in():
    config = TrainConfig(model="dncnn", data="x", out="y", iters=100, warmup=10, schedule="constant")
    assert [lr_factor(config, s) for s in (0, 4, 9, 50)] == pytest.approx([0.1, 0.5, 1.0, 1.0])


# ------------------------------------------------------------------ issue 14: clear messages
def test_metrics_of_a_killed_and_resumed_run_read_as_one_timeline(tmp_path):
    from agan.training.run_folder import read_metrics

    lines = [{"step": 10, "train/total": 1.0}, {"step": 20, "train/total": 0.9}, {"step": 30, "train/total": 0.8},
             {"step": 20, "train/total": 0.7}, {"step": 20, "val/psnr": 25.0}, {"step": 30, "train/total": 0.6}]
    text = "\n".join(json.dumps(r) for r in lines) + '\n{"step": 40, "train/to'  # killed mid-line
    (tmp_path / "metrics.jsonl").write_text(text)
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records] == [10, 20, 30]
    assert records[1] == {"step": 20, "train/total": 0.7, "val/psnr": 25.0} and records[2]["train/total"] == 0.6
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match="metrics.jsonl: line 2 is not a JSON record"):
        read_metrics(tmp_path)


def test_bad_settings_are_one_line_naming_the_file_or_the_setting(tmp_path, photos):
    runner = CliRunner()
    bad = _write(tmp_path / "bad.json", {"iters": "100"})
    result = runner.invoke(main, ["train", "dncnn", "--data", str(photos), "--out", str(tmp_path / "r"), "--config",
                                  str(bad)])
    assert result.exit_code == 1 and "setting 'iters' must be a whole number, not \"100\"" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
    args = ["train", "dncnn", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--out", str(tmp_path / "run"),
            "--patch", "32", "--batch", "2", "--iters", "2", "--config",
            str(_write(tmp_path / "s.json", {"model_args": SMALL["dncnn"]}))]
    assert runner.invoke(main, args).exit_code == 0
    (tmp_path / "run" / "config.json").write_text('{"model": "dncnn", "iters": ')
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "run/config.json: cannot read the run's settings" in result.output


def test_a_checkpoint_with_non_finite_weights_is_refused_by_restore(tmp_path):
    from agan.baselines.dncnn import DnCNN
    from agan.nets.checkpoints import save_checkpoint

    model = DnCNN(in_channels=3, depth=3, width=8)
    weights = model.state_dict()
    weights[next(k for k, v in weights.items() if v.is_floating_point())].fill_(float("nan"))
    save_checkpoint(tmp_path / "nan.pt", model="dncnn", model_args=model.config, weights=weights)
    write_image(tmp_path / "photo.png", scene(32, 32))
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out"), "--model",
                                       str(tmp_path / "nan.pt")])
    assert result.exit_code == 1 and "nan.pt: its weights are not finite" in result.output
    assert not (tmp_path / "out").exists()


def test_without_a_terminal_training_prints_plain_progress_lines(tmp_path, photos):
    lines = []
    config = _config("dncnn", photos, tmp_path / "run", iters=10, val=f"synthetic:gaussian(sigma=25):{photos}",
                     val_every=10, val_limit=1, log_every=5)
    Trainer(config, log=lines.append).fit(progress=False)
    progress = [line for line in lines if line.startswith("step ")]
    assert progress[0].startswith("step 5/10: loss ") and "lr " in progress[0] and "s/step" in progress[0]
    assert progress[-1].startswith("step 10/10: loss ") and "val " in progress[-1] and " dB" in progress[-1]


def test_a_bad_degradation_parameter_stops_before_the_run_folder_exists(tmp_path, photos):
    result = CliRunner().invoke(main, ["train", "unet", "--data", f"synthetic:rain(heaviness=2):{photos}", "--out",
                                       str(tmp_path / "run"), "--patch", "32"])
    assert result.exit_code == 1 and "bad parameters for degradation 'rain'" in result.output
    result = CliRunner().invoke(main, ["train", "unet", "--data", f"synthetic:rain(severity=2):{photos}", "--out",
                                       str(tmp_path / "run"), "--patch", "32"])
    assert result.exit_code == 1 and "severity must be a number from 0 to 1 or a range such as 0.5-1, got 2" in result.output
    assert not (tmp_path / "run").exists()


def test_validation_photos_are_left_out_of_training(tmp_path, photos):
    """jorder_small/test's clean scenes are BSDS432 photos: a run validating on one must not train on it."""
    val = tmp_path / "val"
    write_image(val / "rain" / "a.png", np.clip(read_image(photos / "p2.png") + 0.2, 0, 1))
    write_image(val / "norain" / "a.jpg", read_image(photos / "p2.png"), quality=95)  # the same photo, re-encoded
    messages = []
    trainer = Trainer(_config("dncnn", photos, tmp_path / "run", val=str(val)), log=messages.append)
    names = [trainer.train_set.source.name(i) for i in range(len(trainer.train_set.source))]
    assert names == ["p0", "p1", "p3"]
    assert any("left out of training 1 photo(s) that are also validation images: p2" in m for m in messages)
    pairs = tmp_path / "pairs"
    for name, clean in (("a", read_image(photos / "p2.png")), ("b", scene(48, 56, seed=9))):
        write_image(pairs / "rain" / f"{name}.png", np.clip(clean + 0.2, 0, 1))
        write_image(pairs / "norain" / f"{name}.png", clean)
    joined = Trainer(_config("dncnn", photos, tmp_path / "run2", data=f"synthetic:gaussian:{photos}*2; {pairs}",
                             val=str(val)), log=lambda *_: None)
    assert len(joined.train_set.source) == 3 * 2 + 1  # p2 left the synthetic part, pair a the real one
    messages.clear()
    same = Trainer(_config("dncnn", photos, tmp_path / "run3", data=str(val), val=str(val)), log=messages.append)
    assert len(same.train_set.source) == 1  # validating on the training set on purpose: kept, and said
    assert any("every image of" in m and "measures fit to the training photos" in m for m in messages)


def test_an_unreadable_config_file_is_one_line_for_a_new_run_and_a_resume(tmp_path, photos):
    broken = tmp_path / "broken.json"
    broken.write_text("{bad")
    args = ["train", "dncnn", "--data", f"synthetic:gaussian:{photos}", "--out", str(tmp_path / "run"), "--patch", "32",
            "--batch", "2", "--iters", "2"]
    for extra in (["--config", str(broken)], [], ["--config", str(broken)]):  # new run refused, a run, its resume
        result = CliRunner().invoke(main, args + extra)
        if extra:
            assert result.exit_code == 1 and f"{broken}: cannot read the configuration" in result.output
            assert result.output.count("\n") <= 2, result.output
        else:
            assert result.exit_code == 0, result.output


def test_ema_averages_batchnorm_statistics_instead_of_copying_the_live_ones(tmp_path, photos):
    """Validation and releases use the EMA weights; their BatchNorm statistics must be averaged with
    them (torch's default copies the live model's statistics, which do not fit averaged weights)."""
    trainer = Trainer(_config("dncnn", photos, tmp_path / "ema", iters=6, save_every=6, ema=0.5), log=lambda *_: None)
    before = {k: v.clone() for k, v in trainer._weights_for_release().items() if "running_mean" in k}
    trainer.fit()
    averaged = trainer._weights_for_release()
    live = {k: v for k, v in trainer.model.state_dict().items() if "running_mean" in k}
    assert before and set(before) == set(live)
    for key in before:
        assert not torch.equal(averaged[key], live[key])  # averaged, not copied
        assert (averaged[key] - live[key]).abs().max() < (before[key] - live[key]).abs().max()  # towards the live ones


def test_the_ema_ramps_in_so_a_short_stage_forgets_its_starting_weights():
    from torch.optim.swa_utils import AveragedModel

    from agan.training.state import ema_decay, ema_update

    assert [round(ema_decay(0.999, n), 4) for n in (1, 10, 100, 10_000)] == [0.1818, 0.55, 0.9182, 0.999]
    net = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(net.weight)
    average = AveragedModel(net, multi_avg_fn=ema_update(0.999), use_buffers=True)
    average.update_parameters(net)  # the first update copies
    for _ in range(1000):  # weights move from 0 to 1 and stay there
        torch.nn.init.ones_(net.weight)
        average.update_parameters(net)
    # torch's fixed 0.999 would still hold 0.999**1000 = 37 % of the starting 0
    assert float(average.module.weight.detach()) > 0.99


def _adversarial_step(**settings):
    """A small Attentive GAN step on the CPU (fp32), its generator and discriminator, and a 32x32 batch of 2."""
    from agan.nets import AttentiveDiscriminator, AttentiveGenerator
    from agan.training.steps import build_step

    config = TrainConfig(model="attentive-gan", data="x", out="y", patch=32, perceptual="none", **settings)
    config.check()
    torch.manual_seed(0)
    generator, discriminator = AttentiveGenerator(**SMALL["attentive-gan"]), AttentiveDiscriminator()
    step = build_step(config, generator, discriminator, None, torch.device("cpu"))
    clean = torch.rand(2, 3, 32, 32)
    degraded = (clean + 0.2 * torch.rand_like(clean)).clamp(0, 1)
    mask = (degraded - clean).abs().amax(1, keepdim=True).gt(0.1).float()
    return step, generator, discriminator, (degraded, clean, mask)


def test_a_warm_up_step_trains_the_generator_alone():
    step, generator, discriminator, batch = _adversarial_step(adversarial_weight=0.0)
    before_d = {k: v.clone() for k, v in discriminator.state_dict().items()}
    before_g = {k: v.clone() for k, v in generator.state_dict().items()}
    calls = []
    discriminator.register_forward_hook(lambda *_: calls.append(1))
    terms = step.run(*batch)
    assert not calls and not any(k.startswith("d_") for k in terms) and "adversarial" not in terms
    assert all(torch.equal(v, discriminator.state_dict()[k]) for k, v in before_d.items())
    assert any(not torch.equal(v, generator.state_dict()[k]) for k, v in before_g.items())


@pytest.mark.parametrize("d_patch", [None, 16])
def test_the_discriminator_judges_squares_of_d_patch_and_real_with_restored_in_one_pass(d_patch):
    step, _, discriminator, batch = _adversarial_step(d_patch=d_patch)
    shapes = []
    discriminator.register_forward_hook(lambda module, inputs, output: shapes.append(tuple(inputs[0].shape)))
    torch.manual_seed(1)
    terms = step.run(*batch)
    side = d_patch or 32
    assert shapes == [(2, 3, side, side), (4, 3, side, side)]  # the G step's restored images, then real + restored
    assert {"adversarial", "d_real", "d_fake", "d_map", "d_total"} <= set(terms)
    assert all(math.isfinite(v) for v in terms.values())


def test_a_discriminator_square_as_large_as_the_patch_judges_whole_patches_and_a_tiny_one_is_refused():
    step, _, discriminator, batch = _adversarial_step(d_patch=64)  # patches of 32 (a recipe's d_patch, a trial's patch)
    shapes = []
    discriminator.register_forward_hook(lambda module, inputs, output: shapes.append(tuple(inputs[0].shape)))
    step.run(*batch)
    assert shapes == [(2, 3, 32, 32), (4, 3, 32, 32)]
    with pytest.raises(ValueError, match="d_patch"):
        TrainConfig(model="attentive-gan", data="x", out="y", patch=32, d_patch=8).check()


def test_tensorboard_gets_the_samples_the_config_and_the_hyperparameters(tmp_path, photos):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data = f"synthetic:gaussian(sigma=25):{photos}"
    config = _config("unet", photos, tmp_path / "run", val=data, iters=4, val_every=2, val_limit=1)
    Trainer(config, log=lambda *_: None).fit()
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"images": 0, "tensors": 0}).Reload()
    assert [e.step for e in events.Images("samples")] == [2, 4]
    assert "val/psnr" in events.Tags()["scalars"] and "hparam/val_psnr" in events.Tags()["scalars"]
    assert "config/text_summary" in events.Tags()["tensors"]
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")  # the HParams tab's row
