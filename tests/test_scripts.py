"""The scripts under scripts/ that print figures run end to end on tiny stand-in data."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import scene

from agan.data.io import read_image, write_image

ROOT = Path(__file__).resolve().parents[1]


def _run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def test_weather_stats_prints_each_kind_beside_real_pairs_and_draws_the_gallery(tmp_path):
    for i in range(3):
        write_image(tmp_path / "clean" / f"c{i}.png", scene(96, 128, seed=i))
        write_image(tmp_path / "pairs" / "rain" / f"rain-{i}.png", np.clip(scene(96, 128, seed=i) + 0.2, 0, 1))
        write_image(tmp_path / "pairs" / "norain" / f"norain-{i}.png", scene(96, 128, seed=i))
    done = _run("weather_stats.py", "--clean", tmp_path / "clean", "--count", 2, "--paired", tmp_path / "pairs",
                "--markdown", "--gallery", tmp_path / "gallery.png", "--photo", tmp_path / "clean" / "c0.png",
                "--reference", f"rain={tmp_path / 'clean' / 'c1.png'}", "--height", 64)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| synthetic raindrop", "| synthetic rain", "| synthetic snow",
                                                     "| synthetic dust", "| pairs"]
    pairs = rows[-1].split(" | ")
    # +0.2 on every channel is +0.2 * 219/255 on Y (BT.601): 20 log10(255 / (0.2 * 219)) = 15.3 dB
    assert pairs[1] == "3" and pairs[2].startswith("15.3")
    gallery = read_image(tmp_path / "gallery.png")
    # 6 rows (drops twice, rain twice, snow, dust) x (clean + 3 severities + reference)
    assert gallery.shape[0] > 6 * 64 and gallery.shape[1] > 5 * 64


def test_bench_data_prints_the_rate_of_each_pipeline(tmp_path):
    for i in range(3):
        write_image(tmp_path / "photos" / f"p{i}.png", scene(160, 200, seed=i))
    done = _run("bench_data.py", "--folder", tmp_path / "photos", "--files", 3, "--patches", 6)
    assert done.returncode == 0, done.stderr
    assert "decode:" in done.stdout
    for name in ("gaussian-25 40x40", "noise-mix 64x64", "weather 128x128"):
        line = next(line for line in done.stdout.splitlines() if line.startswith(name))
        assert "x" in line and ("meets" in line or "MISSES" in line)


def test_train_on_gpu_trains_the_four_models_within_a_budget_and_packs_them(tmp_path):
    """scripts/train_on_gpu.sh on the CPU with a half-minute budget, small patches and stand-in image sets."""
    import json
    import os
    import shutil
    import tarfile

    from agan.methods import shipped as pretrained

    if shutil.which("bash") is None:
        import pytest

        pytest.skip("needs bash")
    data = tmp_path / "data"
    for folder in ("train400", "set12", "bsds432", "urban100", "mcmaster", "set14", "set5"):
        for i in range(2):
            write_image(data / folder / f"{folder}-{i}.png", scene(96, 96, seed=i))
    for folder in ("jorder_small/train", "jorder_small/test", "outdoor_rain_test1"):
        write_image(data / folder / "rain" / "rain-1.png", np.clip(scene(96, 96, seed=5) + 0.3, 0, 1))
        write_image(data / folder / "norain" / "norain-1.png", scene(96, 96, seed=5))
    env = {**os.environ, "DATA": str(data), "MINUTES": "0.4", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "train_on_gpu.sh"), str(tmp_path / "out"), "--device", "cpu",
                           "--batch", "2", "--patch", "48", "--val-limit", "1"], env=env, capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in pretrained.RELEASES:
        with tarfile.open(tmp_path / "out" / f"{name}.tar.gz") as archive:
            members = set(archive.getnames())
            assert {f"{name}/config.json", f"{name}/metrics.jsonl", f"{name}/curves.png",
                    f"{name}/release/{name}.pt"} <= members
            config = json.load(archive.extractfile(f"{name}/config.json"))
        assert config["init"] == name and config["minutes"] == 0.4 and config["iters"] >= 1
    shutil.rmtree(tmp_path / "out")  # 28 MB of real-size weights: pytest keeps its last three temporary folders


def test_bench_restore_photos_prints_time_and_peak_memory_of_the_agan_command(tmp_path):
    done = _run("bench_restore.py", "photos", "--megapixels", "0.02,0.03", "--model", "median(ksize=3)",
                "--keep", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["0.0", "0.0"] and all(float(row[4]) > 50 for row in rows)  # MiB
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_real_rain_figure_draws_each_photo_with_each_models_change_and_seam_ratio(tmp_path):
    for i in range(2):
        write_image(tmp_path / "photos" / f"p{i}.png", scene(64, 96, seed=i))
    done = _run("real_rain_figure.py", "-o", tmp_path / "fig.jpg", "--folder", tmp_path / "photos",
                "--model", "median(ksize=3)", "--height", 48)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1].startswith("p0.png") and float(lines[1].split()[-1]) >= 1.0
    figure = read_image(tmp_path / "fig.jpg")
    assert figure.shape[0] > 2 * 48 and figure.shape[1] > 3 * 48  # input, output, change


def test_compare_adversarial_fine_tunes_with_and_without_a_discriminator_and_tabulates_both(tmp_path):
    data = tmp_path / "data"
    for i in range(3):
        for folder in ("bsds432", "set5", "kodak24"):
            write_image(data / folder / f"{folder}{i}.png", scene(96, 112, seed=i + 10 * len(folder)))
        for part in ("train", "test"):
            write_image(data / "jorder_small" / part / "norain" / f"norain-{i}.png", scene(96, 112, seed=i))
            write_image(data / "jorder_small" / part / "rain" / f"rain-{i}.png",
                        np.clip(scene(96, 112, seed=i) + 0.1, 0, 1))
    done = _run("compare_adversarial.py", "--out", tmp_path / "out", "--runs", tmp_path / "runs", "--data-root", data,
                "--iters", 2, "--no-lpips")
    assert done.returncode == 0, done.stderr
    results = (tmp_path / "out" / "results.md").read_text()
    for task in ("noise", "weather"):
        assert f"**{task}**" in results
    rows = [line.split(" | ")[0] for line in results.splitlines() if line.startswith("| ") and "PSNR" not in line]
    assert rows == ["| input", "| start", "| supervised", "| adversarial"] * 2
    assert "start: unet-weather" in results and "2 steps each: supervised 2 steps at" in results and "adversarial 2 at" in results
    crops = read_image(tmp_path / "out" / "crops.jpg")
    assert crops.shape[0] > 2 * 256 and crops.shape[1] > 5 * 256


def test_colour_noise_check_trains_each_candidate_mix_and_tabulates_them(tmp_path):
    data = tmp_path / "data"
    for folder in ("bsds432", "urban100", "mcmaster", "set14", "kodak24"):
        for i in range(2):
            write_image(data / folder / f"{folder}{i}.png", scene(64, 80, seed=i + len(folder)))
    for i in range(2):  # PolyU's layout: NAME_real.JPG beside NAME_mean.JPG
        write_image(data / "polyu_real_noise" / f"cam_{i}_mean.png", scene(64, 80, seed=i))
        write_image(data / "polyu_real_noise" / f"cam_{i}_real.png", np.clip(scene(64, 80, seed=i) + 0.05, 0, 1))
    done = subprocess.run(["bash", str(ROOT / "scripts" / "colour_noise_check.sh"), "--batch", "2", "--patch", "32"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "DATA": str(data), "RUNS": str(tmp_path / "runs"), "MINUTES": "0.05",
                               "OMP_NUM_THREADS": "1",  # agan from this interpreter's environment, as make test has it
                               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    assert done.returncode == 0, done.stderr + done.stdout
    rows = done.stdout.splitlines()
    assert rows[2].startswith("mix") and rows[3].startswith("gauss-cam")
    assert "gaussian(sigma=15):kodak24" in rows[1] and "polyu_real_noise" in rows[1]


def test_compare_gan_stabilisers_trains_each_arm_from_one_generator_and_tabulates_them(tmp_path):
    import json

    from agan.training.config import resolve_config
    from agan.training.engine import Trainer

    for i in range(3):
        write_image(tmp_path / "photos" / f"p{i}.png", scene(48, 56, seed=i))
    data = f"synthetic:scribble:{tmp_path / 'photos'}"
    tiny = {"att_width": 8, "ae_width": 8, "res_blocks": 1, "steps": 2}
    Trainer(resolve_config("attentive-gan", {"data": data, "out": str(tmp_path / "warm-up"), "model_args": tiny,
                                             "iters": 2, "batch": 2, "patch": 32, "perceptual": "none",
                                             "adversarial_weight": 0.0}), log=lambda *_: None).fit()
    config = tmp_path / "arms.json"
    config.write_text(json.dumps({"batch": 2, "patch": 32, "perceptual": "none", "ema": 0.999, "log_every": 1}))
    common = ["--init", tmp_path / "warm-up" / "checkpoints" / "last.pt", "--config", config, "--data", data, "--val",
              data, "--iters", 3, "--out", tmp_path / "out", "--runs", tmp_path / "runs"]
    done = _run("compare_gan_stabilisers.py", *common, "--arm", "paper", "--arm", "relativistic")
    assert done.returncode == 0, done.stderr
    done = _run("compare_gan_stabilisers.py", *common, "--arm", "spectral-norm")  # the earlier arms are kept
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "out" / "results.md").read_text()
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "changed" not in line]
    assert [r[0] for r in rows] == ["| input", "| start", "| paper", "| relativistic", "| spectral-norm"]
    assert all(r[2] == "3" and r[-1].strip(" |") != "—" for r in rows[2:])  # steps, and a D-loss for each arm
    assert all(r[2] == "0" and r[-1].strip(" |") == "—" for r in rows[:2])
    results = json.loads((tmp_path / "out" / "results.json").read_text())["arms"]
    # the start is the warm-up generator itself, validated on the arms' images; each row has a PSNR
    assert all(len(results[arm]["validation"]) == 1 for arm in results)
    assert results["input"]["validation"] != results["start"]["validation"]
    assert all((tmp_path / "out" / f"curves-{arm}.png").is_file() for arm in ("paper", "relativistic", "spectral-norm"))
    saved = json.loads((tmp_path / "runs" / "relativistic" / "config.json").read_text())
    assert saved["gan_loss"] == "relativistic" and saved["init"].endswith("last.pt") and saved["seed"] == 0


def test_drops_check_inpaints_with_the_true_mask_and_overfits_one_batch(tmp_path):
    colour = np.empty((160, 192, 3), np.float32)
    colour[:] = (0.2, 0.5, 0.8)  # a flat colour: filled from around its drops, it comes back whole, in RGB order
    write_image(tmp_path / "flat" / "a.png", colour)
    write_image(tmp_path / "flat" / "b.png", colour)
    done = _run("drops_check.py", "--data", f"synthetic:raindrop(severity=0.5):{tmp_path / 'flat'}", "--limit", 2,
                "--overfit", 10, "--fresh")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    inp, telea, ns = map(float, re.search(r"input ([\d.]+) dB; .*Telea ([\d.]+) dB, Navier-Stokes ([\d.]+) dB",
                                          first).groups())
    assert inp < 30 and telea > 40 and ns > 40, first
    for loss in ("l1", "mse"):
        assert f"  {loss}: input MSE" in done.stdout
    assert done.stdout.count("step   10:") == 2
