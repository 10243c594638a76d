"""agan serve: the page's restore work, and the app over HTTP on a free local port (Gradio's client)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agan.app import PageRestorer, for_display, free_local_port, method_choices
from agan.data.io import read_image, write_image
from agan.errors import InputError
from agan.methods.registry import build_method


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    """A 60x90 RGB PNG with some structure (a gradient and a bright square) and noise."""
    rng = np.random.default_rng(0)
    image = np.linspace(0, 1, 90, dtype=np.float32)[None, :, None].repeat(60, 0).repeat(3, 2)
    image[20:40, 30:60] = 0.9
    image = np.clip(image + rng.normal(0, 0.05, image.shape).astype(np.float32), 0, 1)
    return write_image(tmp_path / "photo.png", image)


def expected(photo: Path, spec: str) -> np.ndarray:
    return np.round(build_method(spec)(read_image(photo)) * 255) / 255


def test_page_restores_like_the_method(photo: Path, tmp_path: Path) -> None:
    restorer = PageRestorer(out=tmp_path / "out")
    result = restorer.restore(photo, "median", post_sigma=0.8)
    assert result.download.parent.parent == tmp_path / "out" and result.download.name == "photo_restored.png"
    assert np.abs(read_image(result.download) - expected(photo, "median+gaussian(sigma=0.8)")).max() < 1e-6
    assert result.before.shape == result.after.shape == (60, 90, 3) and result.after.dtype == np.uint8
    assert result.attention is None and "median+gaussian(sigma=0.8)" in result.summary


def test_page_refuses_bad_uploads_by_name(tmp_path: Path, photo: Path) -> None:
    restorer = PageRestorer(out=tmp_path / "out", max_megapixels=0.001)
    with pytest.raises(InputError, match=r"^photo.png: 90x60 is 0 MP, more than the 0.001 MP"):
        restorer.restore(photo, "median")
    truncated = tmp_path / "upload123.png"
    truncated.write_bytes(photo.read_bytes()[:200])
    with pytest.raises(InputError, match=r"^holiday.png: "):
        PageRestorer(out=tmp_path / "out").restore(truncated, "median", name="holiday.png")
    with pytest.raises(InputError):
        PageRestorer(out=tmp_path / "out").restore(photo, "no-such-model")
    assert not list((tmp_path / "out").rglob("*.png"))


def test_choices_list_models_checkpoints_and_filters(tmp_path: Path) -> None:
    (tmp_path / "runs" / "gan" / "checkpoints").mkdir(parents=True)
    (tmp_path / "runs" / "gan" / "checkpoints" / "best.pt").write_bytes(b"")
    choices = method_choices(tmp_path / "runs")
    assert choices[0] == "attentive-gan-weather" and str(tmp_path / "runs/gan/checkpoints/best.pt") in choices
    assert "bm3d" in choices and "input" not in choices


def test_display_copy_is_small_rgb_uint8() -> None:
    shown = for_display(np.ones((400, 3200, 1), np.float32), side=1600)
    assert shown.shape == (200, 1600, 3) and shown.dtype == np.uint8 and shown.min() == 255


def test_app_restores_over_http(photo: Path, tmp_path: Path) -> None:
    pytest.importorskip("gradio", reason="agan serve needs the app extra: pip install -e '.[app]' (make test installs it)")
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from agan.app import build_app, launch

    app = build_app(None, "cpu", "fp32", out=tmp_path / "served")
    port = free_local_port()
    launch(app, "127.0.0.1", port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "client"),
                        analytics_enabled=False)
        pair, attention, summary, download = client.predict(handle_file(str(photo)), "median", 0.0, api_name="/restore")
        assert np.abs(read_image(download) - expected(photo, "median")).max() < 1e-6
        assert read_image(pair[0]).shape == read_image(pair[1]).shape == (60, 90, 3)
        assert "median" in summary

        bad = tmp_path / "bad.png"
        bad.write_text("not an image")
        with pytest.raises(AppError, match="bad.png: not a readable image"):
            client.predict(handle_file(str(bad)), "median", 0.0, api_name="/restore")

        # The server is still up, and the GAN's attention map comes back as an image.
        pair, attention, summary, download = client.predict(handle_file(str(photo)), "attentive-gan-weather", 0.0,
                                                            api_name="/restore")
        heat = read_image(attention["value"] if isinstance(attention, dict) else attention)
        assert heat.shape == (60, 90, 3) and read_image(download).shape == (60, 90, 3)
    finally:
        app.close()


def test_serve_without_the_app_extra_is_one_line(monkeypatch):
    import builtins

    from click.testing import CliRunner

    from agan.cli import main

    real_import = builtins.__import__

    def no_gradio(name, *args, **kwargs):
        if name == "gradio" or name.startswith("gradio."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gradio)
    result = CliRunner().invoke(main, ["serve", "--port", str(free_local_port())])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "Error: agan serve needs the app extra: pip install 'agan[app]' (Gradio)"


def test_old_results_are_deleted(photo: Path, tmp_path: Path) -> None:
    import os

    restorer = PageRestorer(out=tmp_path / "out", keep_seconds=60)
    old = restorer.restore(photo, "median").download.parent
    os.utime(old, (old.stat().st_atime - 120, old.stat().st_mtime - 120))
    recent = restorer.restore(photo, "median").download.parent
    assert not old.exists() and recent.is_dir()
