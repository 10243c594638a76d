"""Shipped models: releasing a run as fp16 weights with a model card, resolving release names, recipes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import scene

from agan.cli import main
from agan.data.io import write_image
from agan.data.spec import SpecError
from agan.evaluation.compare import MetricOptions, RowCache, run_methods
from agan.methods import shipped as pretrained
from agan.methods.registry import Method, build_method
from agan.nets.checkpoints import CheckpointError, load_checkpoint
from agan.training import release
from agan.training.config import resolve_config
from agan.training.engine import Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 6-step DnCNN run on procedural photos, validated twice."""
    folder = tmp_path_factory.mktemp("release")
    for i in range(3):
        write_image(folder / "photos" / f"p{i}.png", scene(48, 56, seed=i))
    spec = f"synthetic:gaussian(sigma=25):{folder / 'photos'}"
    config = resolve_config("dncnn", {"data": spec, "val": spec, "out": str(folder / "run"), "iters": 6,
                                      "model_args": {"depth": 4, "width": 8}, "batch": 2, "patch": 32,
                                      "log_every": 3, "val_every": 3, "save_every": 3})
    Trainer(config, log=lambda *_: None).fit()
    return folder / "run", spec


def test_training_record_reads_steps_time_hardware_and_best_validation(trained_run):
    run, spec = trained_run
    record = release.training_record(run)
    assert record["steps"] == 6 and record["training_seconds"] > 0
    assert record["hardware"] == f"cpu, {torch.get_num_threads()} threads"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = max((r for r in lines if "val/psnr" in r), key=lambda r: r["val/psnr"])
    assert record["validation"]["step"] == best["step"] and record["validation"]["data"] == spec
    assert record["validation"]["psnr"] == pytest.approx(best["val/psnr"], abs=1e-4)


def test_release_writes_fp16_weights_and_a_card_that_restore_and_models_use(trained_run, tmp_path, monkeypatch):
    run, spec = trained_run
    data_root = run.parent
    result = CliRunner().invoke(main, ["release", str(run), "dncnn-gray-s25", "--out", str(tmp_path / "w"),
                                       "--evaluate", spec, "--compare", "median", "--compare", str(run / "checkpoints" / "last.pt"),
                                       "--data-root", str(data_root), "--device", "cpu", "--note", "a test run"])
    assert result.exit_code == 0, result.output
    payload = torch.load(tmp_path / "w" / "dncnn-gray-s25.pt", weights_only=True)
    assert payload["model"] == "dncnn" and payload["model_args"] == {"depth": 4, "width": 8, "in_channels": 3}
    floats = [v for v in payload["weights"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    card = json.loads((tmp_path / "w" / "dncnn-gray-s25.json").read_text())
    assert card["status"] == "preview" and card["note"] == "a test run"
    assert card["steps"] == 6 and card["steps_planned"] == 6 and card["data"] == "synthetic:gaussian(sigma=25):$DATA/photos"
    assert card["command"].startswith("bash scripts/recipes/dncnn-gray-s25.sh --iters 6 --batch 2 --patch 32")
    assert card["weights"] == "fp16" and card["parameters"] > 0 and card["file_mb"] > 0
    assert card["validation"]["data"] == card["data"]
    assert str(tmp_path) not in json.dumps(card) and str(data_root) not in json.dumps(card)
    (evaluation,) = card["evaluations"]
    assert evaluation["data"] == card["data"] and evaluation["images"] == 3
    kinds = {r["method"]: r["kind"] for r in evaluation["results"]}
    assert kinds == {"input": "input", "dncnn-gray-s25": "model", "median": "filter", "run/last.pt": "network"}
    assert all(np.isfinite(r["psnr"]) and np.isfinite(r["psnr_y"]) for r in evaluation["results"])
    model_row = next(r for r in evaluation["results"] if r["kind"] == "model")
    input_row = next(r for r in evaluation["results"] if r["kind"] == "input")
    assert model_row["psnr"] != input_row["psnr"]
    assert not list((tmp_path / "w").glob(".staging*"))

    # the release name is now a method, and `agan models` shows its card
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "w")
    method = build_method("dncnn-gray-s25")
    image = scene(40, 44, seed=9)
    restored = method(image)
    assert method.label == "dncnn-gray-s25" and restored.shape == image.shape and restored.dtype == np.float32
    assert method.notes and "preview" in method.notes[0]
    listing = CliRunner().invoke(main, ["models"]).output
    assert "dncnn-gray-s25" in listing and "[preview]" in listing and "6 steps on cpu" in listing
    assert f"photos gaussian(sigma=25): {model_row['psnr']:.2f} dB (input {input_row['psnr']:.2f}" in listing
    assert "unet-weather" in listing and "not in this build (train: scripts/recipes/unet-weather.sh)" in listing


def test_a_run_shipped_without_checkpoints_releases_its_release_file(trained_run, tmp_path):
    """A run trained elsewhere comes as config.json, metrics.jsonl and release/NAME.pt (no checkpoints/)."""
    run, _ = trained_run
    shipped_run = tmp_path / "elsewhere" / "dncnn-gray-s25"
    shutil.copytree(run, shipped_run, ignore=shutil.ignore_patterns("checkpoints"))
    release.release(run / "checkpoints" / "best.pt", "dncnn-gray-s25", {}, shipped_run / "release")
    assert release.find_checkpoint(shipped_run, "dncnn-gray-s25") == shipped_run / "release" / "dncnn-gray-s25.pt"
    with pytest.raises(ValueError, match="no checkpoints/best.pt and no release/unet-weather.pt"):
        release.find_checkpoint(shipped_run, "unet-weather")
    weights, card = release.make_release(shipped_run, "dncnn-gray-s25", out=tmp_path / "w", data_root=run.parent,
                                         echo=lambda *_: None)
    expected = torch.load(run / "checkpoints" / "best.pt", weights_only=True)["weights"]
    got = torch.load(weights, weights_only=True)["weights"]
    assert all(torch.equal(got[k], v.half() if v.is_floating_point() else v) for k, v in expected.items())
    assert json.loads(card.read_text())["steps"] == 6


def test_a_failed_evaluation_leaves_the_previous_release_whole(trained_run, tmp_path):
    run, spec = trained_run
    out = tmp_path / "w"
    release.make_release(run, "dncnn-gray-s25", out=out, data_root=run.parent, echo=lambda *_: None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(SpecError, match="outside the data folder"):
        release.make_release(run, "dncnn-gray-s25", out=out, data_root=run.parent, specs=(str(tmp_path),))
    with pytest.raises(ValueError):
        release.make_release(run, "dncnn-gray-s25", out=out, data_root=run.parent, echo=lambda *_: None,
                             specs=(f"synthetic:no-such-kind:{run.parent / 'photos'}",))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_portable_spec_names_data_relative_to_the_data_folder(tmp_path, monkeypatch):
    root = tmp_path / "sets"
    (root / "kodak24").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert release.portable_spec("sets/kodak24", root) == "$DATA/kodak24"
    assert release.portable_spec(f"synthetic:rain(angle=10)+haze:{root}/kodak24,sets/b", root) == \
        "synthetic:rain(angle=10)+haze:$DATA/kodak24,$DATA/b"
    assert release.portable_spec("$DATA/set5", root) == "$DATA/set5"
    assert release.portable_spec(f"synthetic:snow:{root}/a; sets/b*8", root) == "synthetic:snow:$DATA/a;$DATA/b*8"
    with pytest.raises(SpecError, match="outside the data folder"):
        release.portable_spec("/elsewhere/photos", root)


def test_recipe_command_repeats_what_the_run_changed():
    config = resolve_config("dncnn", {"data": "x", "out": "y"}, ROOT / "scripts" / "recipes" / "dncnn-gray-s25.json")
    assert release.recipe_command("dncnn-gray-s25", config.to_json()) == "bash scripts/recipes/dncnn-gray-s25.sh"
    config.iters, config.workers = 13000, 2
    assert release.recipe_command("dncnn-gray-s25", config.to_json()) == \
        "bash scripts/recipes/dncnn-gray-s25.sh --iters 13000 --workers 2"


def test_filter_scores_are_cached_and_reused(tmp_path):
    """A cached filter is not run again on the same images; a changed image misses the cache."""
    calls = []

    def counting(image):
        calls.append(1)
        return image

    cache = RowCache(tmp_path / "scores.jsonl")
    method = Method("counting", (counting,))
    clean = scene(24, 24)
    dataset = [{"degraded": np.clip(clean + 0.05, 0, 1), "clean": clean, "name": "a"}]
    first, _ = run_methods(dataset, [method], cache=cache, progress=False, also={"y": MetricOptions(y_channel=True)})
    second, _ = run_methods(dataset, [method], cache=RowCache(tmp_path / "scores.jsonl"), progress=False,
                            also={"y": MetricOptions(y_channel=True)})
    assert len(calls) == 1 and first == second and "psnr_y" in first[0]
    run_methods(dataset, [method], cache=cache, progress=False)  # other conventions: measured again
    dataset[0]["degraded"] = clean
    run_methods(dataset, [method], cache=cache, progress=False)  # other images: measured again
    assert len(calls) == 3


def test_a_release_missing_from_the_build_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "none")
    with pytest.raises(SpecError, match=r"attentive-gan-weather: this build ships no weights .* scripts/recipes/attentive-gan-weather.sh"):
        build_method("attentive-gan-weather")
    write_image(tmp_path / "photo.png", scene(32, 32))
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and f"{pretrained.DEFAULT_MODEL}: this build ships no weights" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    with pytest.raises(SpecError, match="a trained model takes no parameters"):
        build_method("unet-weather(sigma=3)")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("name", list(pretrained.RELEASES))
def test_each_recipe_resolves_its_training_run(tmp_path, name):
    """Each recipe's `agan train` line parses and builds its model (a dry run on stand-in image sets)."""
    for folder in ("train400", "set12", "kodak24", "bsds432", "urban100", "mcmaster", "set14", "set5"):
        write_image(tmp_path / "data" / folder / "a.png", scene(180, 180, seed=len(folder)))
    for folder in ("jorder_small/train", "jorder_small/test", "outdoor_rain_test1"):  # real-format rain pairs
        write_image(tmp_path / "data" / folder / "rain" / "rain-1.png", scene(180, 180, seed=1) * 0.5)
        write_image(tmp_path / "data" / folder / "norain" / "norain-1.png", scene(180, 180, seed=1))
    env = {**os.environ, "DATA": str(tmp_path / "data"), "RUNS": str(tmp_path / "runs"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "recipes" / f"{name}.sh"), "--dry-run"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "parameters" in result.stdout and "not finished" in result.stdout
    config = json.loads((ROOT / "scripts" / "recipes" / f"{name}.json").read_text())
    assert f'"iters": {config["iters"]}' in result.stdout


def test_a_fine_tuned_card_shows_each_stage_and_one_cpu_entry():
    from agan.methods.shipped import models_table
    from agan.training.release import _hardware

    assert _hardware(["cpu, 1 threads", "cpu, 2 threads"]) == ["cpu, 1/2 threads"]
    assert _hardware(["1 x NVIDIA H100", "cpu, 2 threads"]) == ["1 x NVIDIA H100", "cpu, 2 threads"]
    card = {"status": "preview", "summary": "s", "steps": 40, "steps_planned": 40, "hardware": "cpu, 2 threads",
            "training_seconds": 120, "data": "synthetic:gaussian:$DATA/x",
            "lineage": [{"start": "scratch", "steps": 100, "hardware": "1 x GPU", "minutes": 9.5},
                        {"start": "m", "steps": 40, "hardware": "cpu, 2 threads", "minutes": 2.0}]}
    row = models_table({"m": card}).splitlines()[2]
    assert "100 steps on 1 x GPU, 9.5 min; then fine-tuned (`--init`) 40 steps on cpu, 2 threads, 2.0 min" in row


def test_a_release_holds_the_ema_or_with_live_the_network_s_own_weights(tmp_path, photos):
    config = resolve_config("dncnn", {"data": f"synthetic:gaussian(sigma=25):{photos}", "out": str(tmp_path / "run"),
                                      "model_args": {"depth": 3, "width": 8}, "iters": 4, "batch": 2, "patch": 32,
                                      "save_every": 4, "ema": 0.9})
    Trainer(config, log=lambda *_: None).fit()
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    for live, expected in ((False, last["weights"]), (True, last["training"]["model"])):
        weights, card = release.make_release(tmp_path / "run", "dncnn-gray-s25", out=tmp_path / str(live),
                                             checkpoint="last", data_root=photos.parent, echo=lambda *_: None, live=live)
        shipped = load_checkpoint(weights)["weights"]
        assert all(torch.equal(shipped[k], v.half()) for k, v in expected.items() if v.is_floating_point())
        assert json.loads(card.read_text())["released_weights"] == ("live" if live else "ema")
    assert not all(torch.equal(last["weights"][k], v) for k, v in last["training"]["model"].items())
    with pytest.raises(CheckpointError, match="no training state"):
        release.release(weights, "dncnn-gray-s25", {}, tmp_path / "again", live=True)
