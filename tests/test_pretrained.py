"""Shipped models: releasing a run as fp16 weights with a model card, resolving release names, recipes."""

import importlib.util
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

from agan import pretrained
from agan.cli import main
from agan.engine import Trainer
from agan.registry import build_method
from agan.train_config import resolve_config
from data.io import write_image
from data.spec import SpecError

from conftest import scene

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


def _release_script():
    spec = importlib.util.spec_from_file_location("release_model", ROOT / "scripts" / "release_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_record_reads_steps_time_hardware_and_best_validation(trained_run):
    run, spec = trained_run
    record = pretrained.training_record(run)
    assert record["steps"] == 6 and record["training_seconds"] > 0
    assert record["hardware"] == f"cpu, {torch.get_num_threads()} threads"
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = max((r for r in lines if "val/psnr" in r), key=lambda r: r["val/psnr"])
    assert record["validation"]["step"] == best["step"] and record["validation"]["data"] == spec
    assert record["validation"]["psnr"] == pytest.approx(best["val/psnr"], abs=1e-4)


def test_release_writes_fp16_weights_and_a_card_that_restore_and_models_use(trained_run, tmp_path, monkeypatch):
    run, spec = trained_run
    result = CliRunner().invoke(_release_script().main, [str(run), "dncnn-gray-s25", "--out", str(tmp_path / "w"),
                                                         "--evaluate", spec, "--compare", "median", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    payload = torch.load(tmp_path / "w" / "dncnn-gray-s25.pt", weights_only=True)
    assert payload["model"] == "dncnn" and payload["model_args"] == {"depth": 4, "width": 8, "in_channels": 3}
    floats = [v for v in payload["weights"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    card = json.loads((tmp_path / "w" / "dncnn-gray-s25.json").read_text())
    assert card["steps"] == 6 and card["data"] == spec and card["command"] == "bash scripts/recipes/dncnn-gray-s25.sh"
    assert card["weights"] == "fp16" and card["parameters"] > 0 and card["file_mb"] > 0
    (evaluation,) = card["evaluations"]
    assert [r["method"] for r in evaluation["results"]] == ["input", "dncnn-gray-s25", "median"]
    assert all(np.isfinite(r["psnr"]) for r in evaluation["results"])

    # the release name is now a method, and `agan models` shows its card
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "w")
    method = build_method("dncnn-gray-s25")
    image = scene(40, 44, seed=9)
    restored = method(image)
    assert method.label == "dncnn-gray-s25" and restored.shape == image.shape and restored.dtype == np.float32
    listing = CliRunner().invoke(main, ["models"]).output
    assert "dncnn-gray-s25" in listing and "6 steps on cpu" in listing
    assert "unet-weather" in listing and "not in this build (train: scripts/recipes/unet-weather.sh)" in listing


def test_a_release_missing_from_the_build_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path / "none")
    with pytest.raises(SpecError, match=r"attentive-gan-weather: this build ships no weights .* scripts/recipes/attentive-gan-weather.sh"):
        build_method("attentive-gan-weather")
    write_image(tmp_path / "photo.png", scene(32, 32))
    result = CliRunner().invoke(main, ["restore", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "attentive-gan-weather: this build ships no weights" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    with pytest.raises(SpecError, match="a trained model takes no parameters"):
        build_method("unet-weather(sigma=3)")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("name", list(pretrained.RELEASES))
def test_each_recipe_resolves_its_training_run(tmp_path, name):
    """Each recipe's `agan train` line parses and builds its model (a dry run on stand-in image sets)."""
    for folder in ("train400", "set12", "kodak24", "mcmaster", "set14", "set5"):
        write_image(tmp_path / "data" / folder / "a.png", scene(180, 180, seed=len(folder)))
    env = {**os.environ, "DATA": str(tmp_path / "data"), "RUNS": str(tmp_path / "runs"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "recipes" / f"{name}.sh"), "--dry-run"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "parameters" in result.stdout and "not finished" in result.stdout
    config = json.loads((ROOT / "scripts" / "recipes" / f"{name}.json").read_text())
    assert f'"iters": {config["iters"]}' in result.stdout
