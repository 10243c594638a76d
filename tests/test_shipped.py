"""The models this build ships: each restores a photo out of the box, with an honest card that the README repeats."""

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import scene

from agan.cli import main
from agan.data.io import write_image
from agan.methods import shipped as pretrained

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- shipped-models:start -->", "<!-- shipped-models:end -->"


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_every_release_ships_with_weights_under_40_mb():
    cards = pretrained.shipped()
    assert list(cards) == list(pretrained.RELEASES)
    total = sum(pretrained.resolve(name).stat().st_size for name in cards)
    assert total < 40 * 2**20


@pytest.mark.parametrize("name", list(pretrained.RELEASES))
def test_cards_hold_no_absolute_path_and_are_evaluated(name):
    card = pretrained.load_card(name)
    for text in _strings(card):
        for token in re.split(r"[\s:,()=|+]+", text):
            assert not token.startswith(("/", "~", "\\")) and not re.match(r"^[A-Za-z]:[\\/]", token), (name, text)
    recipe = re.match(r"bash (scripts/recipes/(\S+)\.sh)", card["command"])  # the model's recipe, or a stage's
    assert card["status"] in pretrained.STATUSES and recipe and recipe.group(2).startswith(name)
    assert (ROOT / recipe.group(1)).is_file()
    assert card["steps"] <= card["steps_planned"] and card["training_seconds"] > 0 and card["hardware"]
    assert card["evaluations"]
    for evaluation in card["evaluations"]:
        kinds = [r["kind"] for r in evaluation["results"]]
        assert kinds.count("input") == 1 and kinds.count("model") == 1 and "filter" in kinds
        assert evaluation["images"] > 0 and "RGB" in evaluation["convention"] and "Y (BT.601)" in evaluation["convention"]
        assert all(np.isfinite(r["psnr"]) and 0 < r["ssim"] <= 1 for r in evaluation["results"])


def test_the_readme_table_is_the_cards_table():
    readme = (ROOT / "README.md").read_text()
    assert README_START in readme and README_END in readme
    block = readme.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    assert block == pretrained.models_table(pretrained.shipped())


@pytest.mark.parametrize("name", list(pretrained.RELEASES))
def test_each_shipped_model_restores_a_jpeg(tmp_path, name):
    photo = tmp_path / "photo.jpg"
    write_image(photo, scene(45, 61, seed=3))
    result = CliRunner().invoke(main, ["restore", str(photo), "-o", str(tmp_path / "out"), "--model", name])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if "preview" in line]
    assert len(notes) == (pretrained.load_card(name)["status"] == "preview")
    restored = cv2.imread(str(tmp_path / "out" / "photo.jpg"))
    assert restored.shape == (45, 61, 3)
    assert np.abs(restored.astype(int) - cv2.imread(str(photo)).astype(int)).max() > 0


def test_agan_restore_with_no_model_uses_the_default_weather_model_from_any_folder(tmp_path):
    """`agan restore photo.jpg -o out/` as a new user types it, outside the repository."""
    write_image(tmp_path / "photo.jpg", scene(40, 52, seed=5))
    agan = Path(sys.executable).parent / "agan"
    command = [str(agan)] if agan.is_file() else [sys.executable, "-m", "agan.cli"]
    result = subprocess.run(command + ["restore", "photo.jpg", "-o", "out/"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert pretrained.DEFAULT_MODEL in result.stdout and (tmp_path / "out" / "photo.jpg").is_file()


def test_the_default_model_is_the_weather_model_best_on_real_rain_by_its_card(tmp_path):
    import json
    import shutil

    def mean_real_psnr_y(card):
        rows = [next(r for r in e["results"] if r["kind"] == "model")["psnr_y"] for e in card["evaluations"]
                if not e["data"].startswith("synthetic:")]
        return sum(rows) / len(rows)

    cards = {name: pretrained.load_card(name) for name in pretrained.WEATHER_MODELS}
    assert pretrained.DEFAULT_MODEL == max(cards, key=lambda name: mean_real_psnr_y(cards[name]))
    # the other way round when the cards say so
    for name in pretrained.WEATHER_MODELS:
        shutil.copy(pretrained.release_paths(name)[1], tmp_path / f"{name}.json")
    loser = min(cards, key=lambda name: mean_real_psnr_y(cards[name]))
    card = json.loads((tmp_path / f"{loser}.json").read_text())
    for evaluation in card["evaluations"]:
        next(r for r in evaluation["results"] if r["kind"] == "model")["psnr_y"] += 100
    (tmp_path / f"{loser}.json").write_text(json.dumps(card))
    assert pretrained.default_model(tmp_path) == loser


def test_models_lists_each_release_with_status_and_a_headline_figure():
    output = CliRunner().invoke(main, ["models"]).output
    for name, card in pretrained.shipped().items():
        assert f"[{card['status']}]" in output and pretrained.headline(card) in output


@pytest.mark.parametrize("name", list(pretrained.RELEASES))
def test_each_card_holds_what_a_model_hub_card_holds(name):
    from agan.methods.card_fields import sha256_of

    card = pretrained.load_card(name)
    assert card["license"]["code"] == "MIT" and "DATA.md" in card["license"]["weights"]
    assert card["intended_use"] and card["out_of_scope"] and card["citation"] and "NCHW" in card["input"]
    assert card["sha256"] == sha256_of(pretrained.resolve(name))  # the card is of these very weights
    losses = [e for e in card["evaluations"] if next(r for r in e["results"] if r["kind"] == "model")["psnr"]
              < next(r for r in e["results"] if r["kind"] == "input")["psnr"]]
    assert sum("loses to its input" in line for line in card["limitations"]) == len(losses)
    assert ("preview" in card["limitations"][0]) == (card["status"] == "preview")
