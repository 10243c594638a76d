"""The Python API: agan.load's numpy call and its torch module, the shipped models' names and cards."""

import warnings

import numpy as np
import pytest
import torch

import agan
from agan.methods import shipped

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name,multiple", [("unet-weather", 16), ("attentive-gan-weather", 4), ("dncnn-gray-s25", 1)])
def test_a_shipped_network_is_a_torch_module_on_nchw_batches(name, multiple):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the preview note, tested below
        restorer = agan.load(name, device="cpu", precision="fp32")  # the module runs in float32 too
    module = restorer.module
    assert isinstance(module, torch.nn.Module) and not module.training and module.size_multiple == multiple
    channels = module.network.config["in_channels"]
    x = torch.rand(2, channels, 37, 50)  # not a multiple: padded inside and cropped back
    with torch.no_grad():
        y = module(x)
    assert y.shape == x.shape and y.dtype == torch.float32 and 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    # the module and the numpy call give the same image
    image = x[0].permute(1, 2, 0).numpy()
    assert np.allclose(restorer.method.steps[0](image), y[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_a_filter_has_no_module():
    assert agan.load("median(ksize=3)").module is None


def test_a_preview_model_warns_as_the_command_line_notes():
    with pytest.warns(UserWarning, match="preview"):
        agan.load("dncnn-gray-s25", device="cpu")


def test_list_models_card_and_version():
    assert agan.list_models() == list(shipped.RELEASES)
    for name in agan.list_models():
        card = agan.card(name)
        assert card["name"] == name and card["evaluations"]
    assert agan.__version__ == "0.1.0"
