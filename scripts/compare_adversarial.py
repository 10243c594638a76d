"""What the discriminator changes: a U-Net fine-tuned with and without ``--adversarial`` for the same
CPU minutes from the same start, on one noise task and one weather task.

    python scripts/compare_adversarial.py --minutes 12 --out docs/adversarial

For each task a starting U-Net (``noise``: trained supervised for ``--minutes`` from scratch;
``weather``: the shipped ``unet-weather``) is fine-tuned twice with the same settings, seed and
time budget: once supervised (the content loss alone) and once with ``--adversarial`` (the same
loss plus ``--adversarial-weight`` times the GAN term of a patch discriminator), as ESRGAN and
Real-ESRGAN fine-tune a PSNR-trained generator. Each fine-tune's last checkpoint (not the best by
validation PSNR, which would favour the supervised one) is scored beside the input and the start:
PSNR and SSIM (RGB), LPIPS where the torch hub cache holds AlexNet's ImageNet weights. Writes
OUT/results.md (the tables), OUT/results.json and OUT/crops.jpg (input | start | supervised |
adversarial | clean, on the crop of each task's first test image where the two fine-tunes differ
most). ``--iters`` replaces the time budget by a number of steps (the tests' tiny runs).

Image sets come from ``--data-root`` (default ``$DATA`` or ../shared/data): bsds432 and set5 for
training and validation, kodak24 for the noise test, jorder_small/train and test for the weather.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from agan.data.io import read_image, write_image
from agan.evaluation.compare import score_on
from agan.evaluation.grids import grid
from agan.evaluation.report import summarize
from agan.methods.registry import build_method
from agan.training.config import config_for_run
from agan.training.engine import Trainer


@dataclass(frozen=True)
class Task:
    """One comparison: training, validation and test data (``{data}`` is the data folder) and the start."""

    name: str
    train: str
    val: str
    test: str
    start: str | None  # a shipped release to fine-tune; None: a supervised run from scratch first
    limit: int


TASKS = (
    Task("noise", "synthetic:gaussian(sigma=25):{data}/bsds432", "synthetic:gaussian(sigma=25):{data}/set5",
         "synthetic:gaussian(sigma=25):{data}/kodak24", None, 8),
    Task("weather", "{data}/jorder_small/train*8; synthetic:rain:{data}/bsds432", "synthetic:rain:{data}/set5",
         "{data}/jorder_small/test", "unet-weather", 12),
)

#: Settings shared by every run of the comparison (the fine-tunes differ only in ``adversarial``).
SETTINGS = {"batch": 8, "patch": 64, "lr": 1e-4, "amp": "bf16", "loss": "l1", "val_limit": 2,
            "seed": 0}


def train(run: Path, data: str, val: str, *, budget: dict, **settings) -> Path:
    """Train a U-Net into ``run`` (or resume it with its own settings) and return its last checkpoint."""
    options = {**SETTINGS, **budget, **settings}
    if "iters" in budget:
        options.update(val_every=budget["iters"], save_every=budget["iters"])
    config = config_for_run("unet", run, data, val, None, options, report=lambda line: None)
    Trainer(config, log=click.echo).fit()
    return run / "checkpoints" / "last.pt"


def seconds_per_step(run: Path) -> float:
    """The median seconds a training step took in ``run`` (its metrics.jsonl)."""
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return float(np.median([r["seconds_per_step"] for r in records if "seconds_per_step" in r]))


def crop_of_difference(a: np.ndarray, b: np.ndarray, side: int) -> tuple[slice, slice]:
    """The ``side`` x ``side`` window (HWC float32 images) where ``a`` and ``b`` differ most on average."""
    height, width = a.shape[:2]
    side = min(side, height, width)
    difference = np.abs(a - b).mean(axis=2)
    step = max(side // 4, 1)
    best, where = -1.0, (0, 0)
    for top in range(0, height - side + 1, step):
        for left in range(0, width - side + 1, step):
            value = float(difference[top:top + side, left:left + side].mean())
            if value > best:
                best, where = value, (top, left)
    return slice(where[0], where[0] + side), slice(where[1], where[1] + side)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/adversarial"), show_default=True)
@click.option("--runs", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/adversarial-comparison"), show_default=True)
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=lambda: os.environ.get("DATA", "../shared/data"))
@click.option("--minutes", type=float, default=12.0, show_default=True, help="CPU minutes of each run.")
@click.option("--iters", type=int, default=None, help="Steps of each run instead of a time budget.")
@click.option("--adversarial-weight", type=float, default=0.01, show_default=True)
@click.option("--task", "tasks", multiple=True, type=click.Choice([t.name for t in TASKS]), help="Default: all.")
@click.option("--lpips/--no-lpips", "use_lpips", default=True, show_default=True)
def main(out: Path, runs: Path, data_root: Path, minutes: float, iters: int | None, adversarial_weight: float,
         tasks: tuple[str, ...], use_lpips: bool) -> None:
    """Fine-tune a U-Net with and without a discriminator for equal time; score and show both."""
    budget = {"iters": iters} if iters else {"minutes": minutes}
    data = str(data_root)
    earlier = json.loads((out / "results.json").read_text())["tasks"] if (out / "results.json").is_file() else {}
    results = {name: result for name, result in earlier.items() if tasks and name not in tasks}  # kept as they were
    for task in TASKS:
        if tasks and task.name not in tasks:
            continue
        train_spec, val_spec, test_spec = (s.format(data=data) for s in (task.train, task.val, task.test))
        start = task.start or str(train(runs / task.name / "start", train_spec, val_spec, budget=budget, lr=2e-4))
        checkpoints = {
            kind: train(runs / task.name / kind, train_spec, val_spec, budget=budget, init=start,
                        adversarial=kind == "adversarial", adversarial_weight=adversarial_weight)
            for kind in ("supervised", "adversarial")
        }
        methods = [build_method("input"), build_method(start, precision="fp32"),
                   *(build_method(str(path), precision="fp32") for path in checkpoints.values())]
        _, scored, kept, note = score_on(test_spec, methods, limit=task.limit, use_lpips=use_lpips, keep=1)
        summary = summarize(scored)  # methods in the order given
        for row, label in zip(summary, ("input", "start", "supervised", "adversarial")):
            row["method"] = label
        steps = {kind: json.loads((runs / task.name / kind / "config.json").read_text())["iters"] for kind in checkpoints}
        seconds = {kind: seconds_per_step(runs / task.name / kind) for kind in checkpoints}
        start_steps = None if task.start else json.loads((runs / task.name / "start" / "config.json").read_text())["iters"]
        results[task.name] = {"test": task.test, "images": summary[0]["images"], "lpips_note": note, "budget": budget,
                              "start": task.start or f"supervised from scratch ({start_steps} steps)",
                              "steps": steps, "seconds_per_step": seconds, "summary": summary}
        item = kept[0]
        outputs = list(item.outputs.values())
        rows_, cols = crop_of_difference(outputs[-1], outputs[-2], 128)
        tiles = [(item.degraded, "input"), *zip(outputs[1:], ["start", "supervised", "adversarial"]), (item.clean, "clean")]
        write_image(out / f"crops-{task.name}.jpg", grid([[(image[rows_, cols], f"{task.name}: {label}")
                                                           for image, label in tiles]], height=256), quality=92)
        click.echo(f"{task.name}: " + ", ".join(f"{s['method']} {s['psnr']:.2f} dB" for s in summary))
    out.mkdir(parents=True, exist_ok=True)
    crops = [read_image(out / f"crops-{task.name}.jpg") for task in TASKS if (out / f"crops-{task.name}.jpg").is_file()]
    write_image(out / "crops.jpg", np.concatenate(crops, axis=0), quality=92)
    results = {task.name: results[task.name] for task in TASKS if task.name in results}
    (out / "results.json").write_text(json.dumps({"adversarial_weight": adversarial_weight, "settings": SETTINGS,
                                                  "tasks": results}, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results, adversarial_weight))
    click.echo(f"wrote {out / 'results.md'}, {out / 'results.json'} and {out / 'crops.jpg'}")


def markdown(results: dict, adversarial_weight: float) -> str:
    """The tables of ``results``: one row per method; each task's budget, steps and step times."""
    lines = [f"A U-Net fine-tuned with and without a patch discriminator (GAN weight {adversarial_weight:g}) "
             "from the same start, with the same settings and budget; last checkpoints; RGB PSNR/SSIM.", ""]
    for name, result in results.items():
        budget = result["budget"]
        spent = f"{budget['iters']} steps each" if "iters" in budget else f"{budget['minutes']:g} minutes each"
        steps, seconds = result["steps"], result["seconds_per_step"]
        lines += [f"**{name}** ({result['test']}, {result['images']} images; start: {result['start']}; {spent}: "
                  f"supervised {steps['supervised']} steps at {seconds['supervised']:.2f} s, adversarial "
                  f"{steps['adversarial']} at {seconds['adversarial']:.2f} s)", "",
                  "| method | PSNR (dB) | SSIM | LPIPS |", "|---|---:|---:|---:|"]
        for row in result["summary"]:
            lpips = "—" if row["lpips"] is None else f"{row['lpips']:.4f}"
            lines.append(f"| {row['method']} | {row['psnr']:.2f} | {row['ssim']:.4f} | {lpips} |")
        if result["lpips_note"]:
            lines.append(f"\nLPIPS: {result['lpips_note']}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
