import pickle
import random

import numpy as np
import pytest
import torch
from torch import nn

from agan.nets.checkpoints import CheckpointError, load_checkpoint, release_checkpoint, save_checkpoint


def _training_state(model):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(2, 3)).sum().backward()
    optimizer.step()
    return {
        "step": 7,
        "optimizer": optimizer.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.default_rng(3).bit_generator.state,
                "python": list(random.Random(1).getstate()[1])},
        "config": {"lr": 1e-3, "model": "toy"},
    }


def test_round_trip_loads_with_weights_only(tmp_path):
    model = nn.Linear(3, 2)
    path = save_checkpoint(tmp_path / "run" / "last.pt", model="toy", model_args={"width": 3},
                           weights=model.state_dict(), training=_training_state(model), card={"psnr": 30.1})
    payload = torch.load(path, weights_only=True)  # the guarantee: nothing beyond plain values
    assert payload["model"] == "toy" and payload["model_args"] == {"width": 3}
    assert payload["training"]["step"] == 7 and payload["card"] == {"psnr": 30.1}
    restored = nn.Linear(3, 2)
    restored.load_state_dict(load_checkpoint(path)["weights"])
    assert torch.equal(restored.weight, model.weight)
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary left behind


def test_release_drops_training_state_and_halves(tmp_path):
    model = nn.Linear(3, 2)
    save_checkpoint(tmp_path / "last.pt", model="toy", model_args={}, weights=model.state_dict(),
                    training=_training_state(model))
    release = release_checkpoint(tmp_path / "last.pt", tmp_path / "release.pt", half=True, card={"steps": 7})
    payload = load_checkpoint(release)
    assert "training" not in payload and payload["card"] == {"steps": 7}
    assert payload["weights"]["weight"].dtype == torch.float16


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="missing.pt: no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"junk.pt: not a readable checkpoint \(not a PyTorch file"):
        load_checkpoint(tmp_path / "junk.pt")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"format": 1, "obj": object()}))
    with pytest.raises(CheckpointError, match="evil.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    torch.save({"format": 1, "obj": pytest.raises}, tmp_path / "objects.pt")  # a pickled function
    with pytest.raises(CheckpointError, match="objects.pt: refused: it holds Python objects") as refused:
        load_checkpoint(tmp_path / "objects.pt")
    assert "weights_only" not in str(refused.value)  # torch's advice to load it unsafely is not passed on
    torch.save({"weights": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="foreign.pt: not an agan checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="model_args is not JSON-able"):
        save_checkpoint(tmp_path / "x.pt", model="toy", model_args={"f": object()}, weights={})
