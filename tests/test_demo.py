"""``agan demo`` on a subset of its methods and degradations (the whole demo takes about a minute)."""

import re

import pytest

from agan.demo import DEGRADATIONS, run_demo, sample_photos
from agan.methods.shipped import shipped

GAUSSIAN = (("gaussian-25", "gaussian(sigma=25)"),)


def tables(report):
    """{(degradation, method): PSNR} from a demo report."""
    figures, section = {}, None
    for line in report.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].split(":")[0]
        match = re.match(r"\| `([^`]+)` \| \**([\d.]+)\**", line)
        if match:
            figures[(section, match.group(1))] = float(match.group(2))
    return figures


def test_demo_photos_are_bundled_and_small():
    photos = sample_photos()
    assert len(photos) >= 2
    for image in photos.values():
        assert image.shape == (128, 128, 3) and image.dtype.name == "float32"
        assert 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.skipif("dncnn-gray-s25" not in shipped(), reason="this build ships no dncnn-gray-s25 weights")
def test_demo_report_scores_a_shipped_model_against_filters(tmp_path):
    report = run_demo(tmp_path / "demo", jobs=1, progress=False, degradations=GAUSSIAN,
                      methods=["input", "median", "dncnn-gray-s25"])
    figures = tables(report)
    assert set(figures) == {("gaussian-25", m) for m in ("input", "median", "dncnn-gray-s25")}
    # DnCNN trained for sigma 25 removes most of the noise: far above the noisy input and a 3x3 median.
    assert figures["gaussian-25", "dncnn-gray-s25"] > figures["gaussian-25", "median"] + 2
    assert figures["gaussian-25", "input"] < 22
    assert (tmp_path / "demo" / "gaussian-25" / "grids" / "astronaut.png").stat().st_size > 10_000
    assert "![gaussian-25](gaussian-25/grids/astronaut.png)" in report.read_text()


def test_demo_in_worker_processes_gives_the_same_figures(tmp_path):
    degradations = (DEGRADATIONS[1], GAUSSIAN[0])
    one = tables(run_demo(tmp_path / "one", jobs=1, progress=False, degradations=degradations,
                          methods=["input", "median"]))
    two = tables(run_demo(tmp_path / "two", jobs=2, progress=False, degradations=degradations,
                          methods=["input", "median"]))
    assert len(one) == 4 and one == two


def test_demo_refuses_an_unknown_method_before_any_work(tmp_path):
    with pytest.raises(Exception, match="nosuchfilter"):
        run_demo(tmp_path / "demo", jobs=1, progress=False, degradations=GAUSSIAN, methods=["nosuchfilter"])
    assert not (tmp_path / "demo" / "gaussian-25").exists()
