import csv
import math

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import scene

from agan.cli import main
from agan.data.io import read_image, write_image


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    for i in range(3):
        write_image(folder / f"p{i}.png", scene(48, 56, seed=i))
    return folder


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def test_synth_writes_triplets_and_preview(tmp_path, photos):
    out = tmp_path / "synth"
    result = run("synth", "scribble+salt-pepper(amount=0.05)", "--clean", photos, "--out", out, "--count", 5, "--seed", 3)
    assert result.exit_code == 0, result.output
    for folder in ("degraded", "clean", "mask"):
        assert len(list((out / folder).glob("*.png"))) == 5
    assert read_image(out / "preview.png").shape[2] == 3
    mask = read_image(out / "mask" / "p0_000.png")
    assert mask.shape == (48, 56, 1) and 0 < mask.mean() < 1
    again = tmp_path / "again"
    run("synth", "scribble+salt-pepper(amount=0.05)", "--clean", photos, "--out", again, "--count", 5, "--seed", 3)
    assert np.array_equal(read_image(out / "degraded" / "p1_001.png"), read_image(again / "degraded" / "p1_001.png"))
    # the output layout is itself a paired dataset, masks included
    result = run("evaluate", "median", "--data", out, "--no-lpips", "--csv", tmp_path / "e.csv")
    assert result.exit_code == 0, result.output


def test_synth_refuses_to_overwrite_its_inputs(tmp_path):
    clean = tmp_path / "set" / "clean"
    write_image(clean / "a.png", scene(16, 16))
    before = (clean / "a.png").read_bytes()
    result = run("synth", "gaussian", "--clean", clean, "--out", tmp_path / "set")
    assert result.exit_code == 1 and "refusing to overwrite an input file" in result.output
    assert (clean / "a.png").read_bytes() == before


def test_evaluate_prints_a_table_and_writes_csv(tmp_path, photos):
    csv_path = tmp_path / "per_image.csv"
    result = run("evaluate", "median(ksize=3)", "--data", f"synthetic:salt-pepper(amount=0.05):{photos}",
                 "--csv", csv_path, "--no-lpips")
    assert result.exit_code == 0, result.output
    assert "median(ksize=3)" in result.output and "PSNR" in result.output
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 3 and all(float(r["psnr"]) > 25 for r in rows)


def test_compare_writes_a_row_per_method_with_finite_numbers(tmp_path, photos):
    out = tmp_path / "cmp"
    result = run("compare", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--method", "gaussian(sigma=1)",
                 "--method", "median", "--method", "wavelet", "--out", out, "--no-lpips", "--grids", 2)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["method"] for r in rows] == ["input", "gaussian(sigma=1)", "median", "wavelet"]
    for row in rows:
        assert math.isfinite(float(row["psnr"])) and math.isfinite(float(row["ssim"]))
    assert float(rows[1]["psnr"]) > float(rows[0]["psnr"])  # a filter helps against noise
    report = (out / "results.md").read_text()
    assert "| `wavelet` |" in report and "grids/p0.png" in report
    grid = read_image(out / "grids" / "p1.png")
    assert grid.shape[1] > 5 * 48  # input, three methods and clean side by side


def test_models_lists_the_registry():
    result = run("models")
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.output.splitlines() if line.startswith("  ")}
    from agan.methods.registry import REGISTRY
    from agan.methods.shipped import RELEASES
    from agan.nets.architectures import ARCHITECTURES
    assert set(RELEASES) | {entry.name for entry in REGISTRY} | set(ARCHITECTURES) <= listed
    assert "6.244 M params" in result.output and "0.556 M params" in result.output


@pytest.mark.parametrize("args,message", [
    (["evaluate", "median", "--data", "no/such/folder"], "no/such/folder: no such folder"),
    (["evaluate", "sharpen", "--data", "."], "unknown method 'sharpen'"),
    (["evaluate", "median(size=3)", "--data", "."], "bad parameters for median"),
    (["evaluate", "bm3d(sigma=abc)", "--data", "."], "bm3d(sigma=abc): sigma must be a number from 0 to 255"),
    (["evaluate", "gaussian(sigma=nan)", "--data", "."], "gaussian(sigma=nan): sigma must be a number from 0 to 50"),
    (["evaluate", "mean(ksize=0)", "--data", "."], "mean(ksize=0): ksize must be a whole number from 1 to 99"),
    (["restore", ".", "-o", "out", "--model", "median", "--post-filter", "median(ksize=4)"],
     "median(ksize=4): ksize must be an odd whole number from 3 to 99"),
    (["compare", "--data", "synthetic:gaussian(sigma=25", "--method", "median", "--out", "x"], "unbalanced"),
])
def test_bad_input_is_one_line_and_exit_1(args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_smaller_hardening_items(tmp_path, photos):
    from agan.baselines import filters
    from agan.data.spec import SpecError, parse_calls

    with pytest.raises(SpecError, match="parameter 'ksize' given twice"):
        parse_calls("median(ksize=3,ksize=5)")
    deep = (np.arange(64 * 64, dtype=np.float32).reshape(64, 64, 1) / 4095.0) % 1.0  # values between 8-bit levels
    out = filters.median(deep, ksize=7)
    assert not np.allclose(out * 255, np.round(out * 255))  # kept its depth, not cut to 8-bit levels
    # a reused compare folder keeps no stale grids
    (tmp_path / "cmp" / "grids").mkdir(parents=True)
    (tmp_path / "cmp" / "grids" / "old.png").write_bytes(b"stale")
    result = run("compare", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--method", "median", "--out",
                 tmp_path / "cmp", "--no-lpips", "--grids", 1)
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "cmp" / "grids").iterdir()] == ["p0.png"]
    result = run("restore", photos / "p0.png", "-o", tmp_path / "out", "--model", "median", "--tile", 32)
    assert result.exit_code == 0 and "--tile and --ensemble apply to networks" in result.stderr


def test_compare_says_its_limit_and_saves_every_output_on_request(tmp_path, photos):
    result = run("compare", "--data", f"synthetic:gaussian(sigma=25):{photos}", "--method", "median", "--out",
                 tmp_path / "cmp", "--no-lpips", "--limit", 2, "--save-outputs")
    assert result.exit_code == 0, result.output
    assert "(2 images, 2 of its 3 spread evenly (--limit))" in (tmp_path / "cmp" / "results.md").read_text()
    saved = sorted(str(p.relative_to(tmp_path / "cmp" / "outputs")) for p in (tmp_path / "cmp" / "outputs").rglob("*.png"))
    assert saved == ["input/p0.png", "input/p2.png", "median/p0.png", "median/p2.png"]  # the first and the last


def test_evaluate_goes_on_past_an_image_a_method_fails_on(tmp_path, photos, monkeypatch):
    import agan.methods.registry as registry
    from agan.baselines import filters

    def fragile(image, ksize=3):
        if abs(float(image.mean()) - fragile.bad) < 1e-6:
            raise RuntimeError("out of memory")
        return filters.median(image, ksize)

    from agan.data.io import read_image as read
    fragile.bad = float(read(photos / "p1.png").mean())
    monkeypatch.setitem(registry.REGISTRY._entries, "median",
                        registry.Entry("median", registry._filter_builder(fragile, "median"), "fails on p1"))
    result = run("evaluate", "median", "--data", f"synthetic:gaussian(sigma=0):{photos}", "--no-lpips", "--csv",
                 tmp_path / "e.csv")
    assert result.exit_code == 1
    assert "image p1: median failed (out of memory)" in result.stderr and "1 image(s) left out: p1" in result.output
    assert sorted(r["image"] for r in csv.DictReader((tmp_path / "e.csv").open())) == ["p0", "p2"]


def test_the_help_and_the_exit_statuses_are_as_the_readme_says(tmp_path):
    helped = run("train", "--help")
    assert "train400/' \\\n" in helped.output  # the example's line continuation is shown
    assert CliRunner().invoke(main, ["evaluate"]).exit_code == 2  # a command line click cannot parse
    assert run("plot", tmp_path).exit_code == 1  # an error in what was given


def test_plot_writes_the_format_its_suffix_names(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "lr": 0.1, "train/total": 1.0}\n'
                                            '{"step": 2, "lr": 0.05, "train/total": 0.5, "val/psnr": 20.0, '
                                            '"val/ssim": 0.5, "val/input_psnr": 18.0}\n')
    for name, magic in (("c.jpg", b"\xff\xd8"), ("c.pdf", b"%PDF"), ("c.png", b"\x89PNG")):
        assert run("plot", tmp_path, "-o", tmp_path / name).exit_code == 0
        assert (tmp_path / name).read_bytes().startswith(magic)
    assert run("plot", tmp_path, "-o", tmp_path / "c.gif").exit_code == 1


def test_plot_points_out_a_discriminator_at_chance_and_lays_its_panels_in_a_grid(tmp_path, monkeypatch):
    import json
    import math

    from agan.training import plot

    lines = []
    for step in range(1, 41):
        d_loss = 2 * math.log(2) + (0.01 if step > 10 else 0.5)  # at chance for three quarters of the run
        lines.append({"step": step, "lr": 1e-4, "train/g_total": 1.0 / step, "train/d_total": d_loss,
                      "train/attention": 0.1, "train/multiscale": 0.2, "train/adversarial": 0.7,
                      **({"val/psnr": 20.0 + step / 10, "val/ssim": 0.5, "val/input_psnr": 18.0,
                          "val/attention_auc": 0.8} if step % 20 == 0 else {})})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert plot.chance_share([r for r in lines]) == 0.75
    texts, shapes = [], []
    import matplotlib.axes
    import matplotlib.pyplot as plt

    real_text, real_subplots = matplotlib.axes.Axes.text, plt.subplots
    monkeypatch.setattr(matplotlib.axes.Axes, "text", lambda self, *a, **k: texts.append(a[2]) or real_text(self, *a, **k))
    monkeypatch.setattr(plt, "subplots", lambda r, c, **k: shapes.append((r, c)) or real_subplots(r, c, **k))
    assert run("plot", tmp_path, "--smoothing", "0.6").exit_code == 0
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert shapes == [(2, 3)]  # six panels: losses, terms, PSNR, SSIM, AUC, lr
    assert any("D-loss at chance" in t and "75%" in t for t in texts)
