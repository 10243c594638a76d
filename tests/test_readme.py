"""The README's examples run as written: its Python block, and each `agan` command line that needs
no image set (the inputs it names, photo.jpg and the like, are made here from scene images; lines
with placeholders, run folders, image sets or a server are left to their own tests)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import scene

from agan.data.io import write_image

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)
AGAN = str(Path(sys.executable).with_name("agan"))
#: Commands left out: a synopsis (placeholders), a server that runs until stopped, or inputs from image sets and runs.
LEFT_OUT = re.compile(r"\[|\b[A-Z]{3,}\b|\bserve\b|runs/|train400|kodak24|set12|photos/|scans/")


def _commands() -> list[str]:
    lines = []
    for language, block in BLOCKS:
        if language:
            continue
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].split(" # ")[0].strip()
            if command.startswith("agan ") and not LEFT_OUT.search(command):
                lines.append(command)
    return lines


@pytest.fixture
def inputs(tmp_path):
    """The files the README's examples name, as small stand-ins."""
    write_image(tmp_path / "photo.jpg", scene(96, 128, seed=1))
    write_image(tmp_path / "rainy.jpg", scene(96, 128, seed=2))
    noisy = np.clip(scene(96, 128, seed=3) + np.random.default_rng(0).normal(0, 0.1, (96, 128, 3)), 0, 1)
    write_image(tmp_path / "noisy.png", noisy.astype(np.float32))
    return tmp_path


def test_the_readme_has_the_commands_this_test_runs():
    commands = _commands()
    assert "agan restore photo.jpg -o out/" in commands and "agan models" in commands
    assert any(c.startswith("agan export dncnn-gray-s25") for c in commands)


@pytest.mark.parametrize("command", _commands())
def test_each_readme_command_runs_as_written(inputs, command):
    words = shlex.split(command)
    done = subprocess.run([AGAN, *words[1:]], cwd=inputs, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"


def test_the_readme_python_block_runs_as_written(inputs):
    code = next(block for language, block in BLOCKS if language == "python")
    done = subprocess.run([sys.executable, "-c", code], cwd=inputs, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
