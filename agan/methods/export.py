"""``agan export``: a trained network as an ONNX graph, checked against torch before it is kept.

The graph takes ``image``: an NCHW float32 tensor in [0, 1] (RGB, or grey for a grey model),
batch and size dynamic; height and width must be multiples of the network's ``size_multiple``
(16 for the default U-Net, 4 for the Attentive GAN, 1 for DnCNN), as the network pads inside
torch. A caller pads at the bottom and right (reflect) and crops the output back, as agan does:
written that way the graph holds no size-dependent branch, so one export serves every size (an
export traced at one size and run at another is how exports go silently wrong). Outputs:
``restored`` (NCHW, in [0, 1]) and, with ``attention=True`` for the Attentive GAN, ``attention``
(N1HW, the last attention map, raw).

Every export is run in onnxruntime on a random 64x96 image (rounded up to the multiple) and
kept only when it matches torch within ``tolerance``; the file is written to a temporary name
and renamed. The ONNX file's metadata records the model, the multiple, the convention and the
largest difference measured.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agan.data.spec import UnknownNameError
from agan.errors import InputError, StoppedError
from agan.nets.architectures import architecture_of, model_from_checkpoint

#: The ONNX opset agan exports (torch's exporter supports it; onnxruntime >= 1.14 runs it).
OPSET = 18

#: Largest difference allowed between the ONNX graph and torch on the check image (values in [0, 1]).
TOLERANCE = 1e-4


class ExportUnavailable(StoppedError):
    """onnx, onnxscript or onnxruntime is not installed (``pip install 'agan[export]'``)."""


def size_multiple(model: nn.Module) -> int:
    """The multiple the network's input height and width must be for an exported graph."""
    return architecture_of(model).size_multiple(model.config)


class _Outputs(nn.Module):
    """The network with plain tensor outputs: the restored image, and the last attention map when asked."""

    def __init__(self, model: nn.Module, attention: bool) -> None:
        super().__init__()
        self.model, self.attention = model, attention
        self.outputs = architecture_of(model).outputs

    def forward(self, image: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        restored, attention = self.outputs(self.model(image))
        restored = restored.clamp(0.0, 1.0)
        return (restored, attention) if self.attention else restored


def _require() -> Any:
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise ExportUnavailable(f"ONNX export needs {err.name}: pip install 'agan[export]'") from None
    return onnxruntime


def export_onnx(source: str | Path, output: str | Path, *, attention: bool = False, opset: int = OPSET,
                tolerance: float = TOLERANCE) -> dict[str, Any]:
    """Export a shipped model (by name) or a checkpoint to ONNX at ``output``, checked in onnxruntime.

    Args:
        source: a shipped model's name (``agan models``) or a checkpoint ``.pt``.
        output: the ``.onnx`` file to write (atomically).
        attention: also output the Attentive GAN's last attention map.
        opset: the ONNX opset.
        tolerance: the largest difference from torch (on a random 64x96 image) the export may show.

    Returns:
        What was written: ``path``, ``model``, ``multiple``, ``outputs``, ``opset``, ``max_difference``.

    Raises:
        InputError: an unknown model or a bad checkpoint, ``attention`` for a network without one.
        ExportUnavailable: the ONNX packages are not installed.
        StoppedError: the exported graph does not match torch (nothing is written).
    """
    ort = _require()
    from agan.methods.shipped import RELEASES, resolve

    if str(source) not in RELEASES and not Path(source).exists():
        raise UnknownNameError("model", str(source), RELEASES, "or the path of a checkpoint .pt")
    checkpoint = resolve(str(source)) if str(source) in RELEASES else Path(source)
    model, payload = model_from_checkpoint(checkpoint, "cpu")
    if attention and not architecture_of(model).attention:
        raise InputError(f"{source}: a {payload['model']} network has no attention map to export")
    multiple = size_multiple(model)
    wrapped = _Outputs(model.eval(), attention).eval()
    channels = model.in_channels
    example = torch.rand(1, channels, 4 * max(multiple, 8), 6 * max(multiple, 8), generator=torch.Generator().manual_seed(0))
    batch = torch.export.Dim("batch", min=1, max=64)
    height = torch.export.Dim("height_blocks", min=1, max=16384 // multiple)
    width = torch.export.Dim("width_blocks", min=1, max=16384 // multiple)
    names = ["restored", "attention"] if attention else ["restored"]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(handle)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, (example,), temporary, input_names=["image"], output_names=names,
                              dynamic_shapes={"image": {0: batch, 2: multiple * height, 3: multiple * width}},
                              opset_version=opset, external_data=False)
        difference = _check(ort, temporary, wrapped, channels, multiple)
        if not difference <= tolerance:
            raise StoppedError(f"{source}: the ONNX graph differs from torch by {difference:.3g} (more than "
                               f"{tolerance:g}); nothing written")
        _describe(temporary, payload["model"], str(source), multiple, channels, names, difference)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's file is private
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return {"path": output, "model": payload["model"], "multiple": multiple, "outputs": names, "opset": opset,
            "max_difference": difference}


def _check(ort: Any, path: str, wrapped: nn.Module, channels: int, multiple: int) -> float:
    """The largest difference between onnxruntime and torch on a random image of about 64x96 (and a
    second size, to show the graph did not keep the size it was traced at)."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    worst = 0.0
    rng = np.random.default_rng(0)
    for height, width in ((64, 96), (48, 80)):
        height, width = -(-height // multiple) * multiple, -(-width // multiple) * multiple
        image = rng.random((1, channels, height, width), dtype=np.float32)
        got = session.run(None, {"image": image})
        with torch.inference_mode():
            want = wrapped(torch.from_numpy(image))
        want = want if isinstance(want, tuple) else (want,)
        worst = max([worst] + [float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want)])
    return worst


def _describe(path: str, model: str, source: str, multiple: int, channels: int, outputs: list[str],
              difference: float) -> None:
    """Write what a user of the graph needs to know into its metadata."""
    from importlib.metadata import PackageNotFoundError, version

    import onnx

    try:
        agan_version = version("agan")
    except PackageNotFoundError:
        agan_version = "unknown"
    graph = onnx.load(path)
    fields = {
        "agan_version": agan_version,
        "model": model,
        "source": Path(source).name,
        "input": f"image: NCHW float32 in [0, 1], {'grey' if channels == 1 else 'RGB'}; "
                 f"height and width multiples of {multiple} (pad bottom/right by reflection, crop the output back)",
        "outputs": ", ".join(outputs),
        "max_difference_from_torch": f"{difference:.3g}",
    }
    del graph.metadata_props[:]
    for key, value in fields.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, path)
