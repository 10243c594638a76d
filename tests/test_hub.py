"""Pretrained backbones fetched into the torch hub cache as torchvision does, from a loopback server
standing in for the download host (no test touches the network)."""

import functools
import hashlib
import http.server
import threading

import pytest
import torch
from click.testing import CliRunner
from conftest import scene

from agan.cli import main
from agan.data.io import write_image
from agan import hub
from agan.training import perceptual


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server of the folder ``tmp_path / "site"``; yields (folder, base URL)."""
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Weights:
    """A stand-in for a torchvision weights entry: only its URL matters here."""

    def __init__(self, url):
        self.url = url


def _vgg_head(path):
    """The first layers of VGG16 (up to relu2_2, all the perceptual loss reads), random: a small file."""
    torch.manual_seed(0)
    layers = perceptual.PerceptualLoss._build(9)
    torch.save({f"features.{k}": v for k, v in layers.state_dict().items()}, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_missing_file_is_downloaded_once_hash_checked_and_cached(tmp_path, served, monkeypatch, capsys):
    site, base = served
    (site / "tiny-0123.pth").write_bytes(b"not the file its name promises")
    good = site / "good.bin"
    good.write_bytes(b"weights")
    digits = hashlib.sha256(b"weights").hexdigest()[:8]
    good.rename(site / f"good-{digits}.bin")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv(hub.MIRROR_VARIABLE, base)
    monkeypatch.setattr(hub, "_failed", {})
    path, reason = hub.fetch_weights(_Weights(f"https://download.pytorch.org/models/good-{digits}.bin"), "a file")
    assert reason is None and path.read_bytes() == b"weights" and path.parent == tmp_path / "hub" / "checkpoints"
    assert f"downloading a file from {base}good-{digits}.bin to {path}" in capsys.readouterr().err
    assert hub.fetch_weights(_Weights(f"https://x/good-{digits}.bin"), "a file") == (path, None)  # cached: no fetch
    assert capsys.readouterr().err == ""
    path, reason = hub.fetch_weights(_Weights("https://download.pytorch.org/models/tiny-0123.pth"), "a file")
    assert reason is not None and "hash" in reason.lower() and not path.exists()  # a wrong file is not kept
    _, again = hub.fetch_weights(_Weights("https://download.pytorch.org/models/tiny-0123.pth"), "a file")
    assert again == reason and "downloading" not in capsys.readouterr().err.split("\n", 1)[-1]


def test_train_with_the_perceptual_loss_fetches_vgg16_and_goes_on(tmp_path, served, monkeypatch):
    site, base = served
    digits = _vgg_head(site / "head.pth")[:8]
    (site / "head.pth").rename(site / f"vgg16head-{digits}.pth")
    monkeypatch.setattr(perceptual, "_vgg16_weights", lambda: _Weights(f"https://download.pytorch.org/models/vgg16head-{digits}.pth"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv(hub.MIRROR_VARIABLE, base)
    monkeypatch.setattr(hub, "_failed", {})
    write_image(tmp_path / "photos" / "p.png", scene(48, 48))
    result = CliRunner().invoke(main, ["train", "attentive-gan", "--data", f"synthetic:raindrop:{tmp_path / 'photos'}",
                                       "--out", str(tmp_path / "gan"), "--patch", "32", "--perceptual", "vgg", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "perceptual loss: vgg" in result.output
    assert (tmp_path / "hub" / "checkpoints" / f"vgg16head-{digits}.pth").is_file()


def test_without_a_server_the_perceptual_loss_stops_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(hub, "_failed", {})
    write_image(tmp_path / "photos" / "p.png", scene(48, 48))
    result = CliRunner().invoke(main, ["train", "attentive-gan", "--data", f"synthetic:raindrop:{tmp_path / 'photos'}",
                                       "--out", str(tmp_path / "gan"), "--patch", "32", "--perceptual", "vgg", "--dry-run"])
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if "perceptual loss unavailable" in line]
    assert len(error) == 1 and "download from http://127.0.0.1:9/vgg16-397923af.pth failed" in error[0]
    assert "--perceptual none" in error[0] and not (tmp_path / "gan").exists()
