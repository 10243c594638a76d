"""``agan export``: ONNX graphs that onnxruntime runs like torch, at sizes other than the traced one."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

pytest.importorskip("onnx", reason="the export extra is not installed (pip install 'agan[export]')")
pytest.importorskip("onnxscript", reason="the export extra is not installed (pip install 'agan[export]')")
ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed (pip install 'agan[export]')")

from agan.cli import main  # noqa: E402
from agan.methods.export import export_onnx  # noqa: E402
from agan.methods.shipped import shipped  # noqa: E402
from agan.nets.architectures import ARCHITECTURES, model_from_checkpoint  # noqa: E402
from agan.nets.checkpoints import save_checkpoint  # noqa: E402

SMALL = {  # random weights: the export's correctness does not depend on training
    "dncnn": {"in_channels": 3, "depth": 5, "width": 16},
    "unet": {"in_channels": 3, "width": 8, "depth": 2},
    "attentive-gan": {"in_channels": 3, "att_width": 8, "ae_width": 8, "res_blocks": 1, "steps": 2},
}


def _checkpoint(tmp_path, name):
    torch.manual_seed(0)
    network = ARCHITECTURES[name].build(**SMALL[name])
    return save_checkpoint(tmp_path / f"{name}.pt", model=name, model_args=SMALL[name], weights=network.state_dict())


def _onnx_and_torch(path, checkpoint, height, width, channels=3):
    image = np.random.default_rng(1).random((1, channels, height, width), dtype=np.float32)
    outputs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": image})
    model, _ = model_from_checkpoint(checkpoint, "cpu")
    with torch.inference_mode():
        out = model(torch.from_numpy(image))
    want = [out.clamp(0, 1)] if isinstance(out, torch.Tensor) else [out.image, out.attention[-1]]
    return outputs, [w.numpy() for w in want]


@pytest.mark.parametrize("name", ["dncnn", "unet", "attentive-gan"])
def test_export_matches_torch_at_64x96_and_other_sizes(tmp_path, name):
    checkpoint = _checkpoint(tmp_path, name)
    info = export_onnx(checkpoint, tmp_path / f"{name}.onnx", attention=name == "attentive-gan")
    assert info["multiple"] == {"dncnn": 1, "unet": 4, "attentive-gan": 4}[name]
    for height, width in ((64, 96), (32, 128), (96, 40)):  # the graph was traced at one size only
        got, want = _onnx_and_torch(info["path"], checkpoint, height, width)
        assert len(got) == len(want) == (2 if name == "attentive-gan" else 1)
        for g, w in zip(got, want):
            assert g.shape == w.shape and np.abs(g - w).max() < 1e-4


@pytest.mark.parametrize("name", list(shipped()))
def test_each_shipped_model_exports(tmp_path, name):
    info = export_onnx(name, tmp_path / f"{name}.onnx")
    from agan.methods.shipped import resolve

    channels = 1 if name == "dncnn-gray-s25" else 3
    got, want = _onnx_and_torch(info["path"], resolve(name), 64, 96, channels)
    assert np.abs(got[0] - want[0]).max() < 1e-4
    info["path"].unlink()  # up to 31 MB


def test_export_command_and_its_errors(tmp_path):
    checkpoint = _checkpoint(tmp_path, "dncnn")
    result = CliRunner().invoke(main, ["export", str(checkpoint), "-o", str(tmp_path / "out" / "d.onnx")])
    assert result.exit_code == 0, result.output
    assert "largest difference from torch" in result.output and (tmp_path / "out" / "d.onnx").stat().st_size > 10_000
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(tmp_path / "out" / "d.onnx")).metadata_props}
    assert metadata["model"] == "dncnn" and "multiples of 1" in metadata["input"]
    result = CliRunner().invoke(main, ["export", str(checkpoint), "-o", str(tmp_path / "a.onnx"), "--attention"])
    assert result.exit_code == 1 and "has no attention map" in result.output and not (tmp_path / "a.onnx").exists()
    result = CliRunner().invoke(main, ["export", "no-such-model", "-o", str(tmp_path / "b.onnx")])
    assert result.exit_code == 1 and "unknown model 'no-such-model'; known: attentive-gan-weather" in result.output
    assert not list(tmp_path.glob(".*.tmp")) and not list((tmp_path / "out").glob(".*.tmp"))
