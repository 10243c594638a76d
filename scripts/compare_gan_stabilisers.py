"""Which of the field's GAN stabilisers help the Attentive GAN on this machine: adversarial stages
from the same generator for the same minutes, with one setting changed in each.

    python scripts/compare_gan_stabilisers.py --minutes 30 --init attentive-gan-weather \
        [--arm paper --arm relativistic ...] [--batch 4] [--workers 1] [--out docs/gan-stabilisers] [--runs runs/gan-stabilisers]

Every arm starts from ``--init`` (the warm-up stage's generator; the discriminator afresh) with
the weather recipe's adversarial settings (``scripts/recipes/attentive-gan-weather.json``, or
``--config``; ``--batch`` replaces its batch) on the recipes' weather data and validation
(``WEATHER_TRAIN`` and ``WEATHER_VAL`` of ``scripts/recipes/common.sh``, or ``--data`` and
``--val``), seed 0, for ``--minutes`` (or ``--iters`` steps: the tests' tiny runs). The arms
(:data:`ARMS`) differ from the paper's setting in one thing each. For each arm: steps, seconds a
step, the last validation of each set (the EMA weights when the recipe keeps an EMA, as
``best.pt``), and the discriminator's course: the step at which its smoothed loss first leaves
chance (2 ln 2), as a share of the arm's steps (the issue asks for the first 10 %), and its lowest
smoothed loss (below 0.1, D wins outright: a collapse). Two rows come first: the validation
images as they come (input) and the starting generator (start), the line the arms have to move. Writes OUT/results.md, OUT/results.json
(arms run earlier and not named again are kept) and OUT/curves-ARM.png (``agan plot``). The run
folders stay under ``--runs``; the best arm's is a stage to release:
``RELEASE_RUN=RUNS/ARM bash scripts/recipes/attentive-gan-weather.sh``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click

from agan.training.config import config_for_run
from agan.training.engine import Trainer
from agan.training.plot import CHANCE_D_LOSS, COLLAPSE_D_LOSS, left_chance_at, plot_run, smoothed
from agan.evaluation.metrics import psnr
from agan.training.run_folder import read_metrics

ROOT = Path(__file__).resolve().parent.parent

#: name -> (the settings it changes, what that is). "paper" is the recipe as it stands.
ARMS: dict[str, tuple[dict, str]] = {
    "no-gan": ({"adversarial_weight": 0.0}, "the control: the same stage without D (GAN weight 0)"),
    "paper": ({}, "the recipe: BCE on logits, GAN weight 0.01, D's lr = G's"),
    "relativistic": ({"gan_loss": "relativistic"}, "ESRGAN's relativistic average GAN loss"),
    "spectral-norm": ({"d_spectral_norm": True}, "spectral norm on every layer of D"),
    "weight-0.005": ({"adversarial_weight": 0.005}, "half the GAN weight"),
    "lr-d-half": ({"lr_d": 5e-5}, "D's lr half G's (5e-5)"),
    "lr-d-4x": ({"lr_d": 4e-4}, "D's lr 4x G's (4e-4: the two-timescale rule, as SAGAN)"),
    "d-patch-48": ({"d_patch": 48}, "D on 48x48 squares (a cheaper step: 7.4 U-Net steps, not 8.6)"),
}


def recipe_variable(name: str) -> str:
    """A variable of ``scripts/recipes/common.sh`` (its data specs), as the recipes see it."""
    done = subprocess.run(["bash", "-c", f'source scripts/recipes/common.sh >/dev/null && printf %s "${name}"'],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout


def discriminator_course(records: list[dict], steps: int) -> dict:
    """When the D-loss left chance (step and share of ``steps``) and its lowest smoothed value."""
    losses = [r["train/d_total"] for r in records if "train/d_total" in r]
    left = left_chance_at(records)
    return {"left_chance_step": left, "left_chance_share": None if left is None else left / max(steps, 1),
            "lowest": min(smoothed(losses, 0.6)) if losses else None,
            "collapsed": bool(losses) and min(smoothed(losses, 0.6)) < COLLAPSE_D_LOSS}


def last_validation(records: list[dict]) -> dict[str, float]:
    """The last validation's PSNR of each set (``val/psnr@SET``, or ``val/psnr`` for one set)."""
    scored = [r for r in records if "val/psnr" in r]
    if not scored:
        return {}
    last = scored[-1]
    per_set = {k.split("@", 1)[1]: v for k, v in last.items() if k.startswith("val/psnr@")}
    return per_set or {"validation": last["val/psnr"]}


def starting_point(run: Path, data: str, val: str, config_file: Path, init: str, batch: int | None) -> list[dict]:
    """Rows for the validation images as they come (input) and for the generator every arm starts
    from, on the arms' validation sets: the line an adversarial stage has to move."""
    options = {"init": init, "seed": 0, "iters": 1, **({"batch": batch} if batch else {})}
    trainer = Trainer(config_for_run("attentive-gan", run, data, val, config_file, options, report=lambda line: None),
                      log=lambda line: None)
    start, _ = trainer.validate()
    labels = trainer.val_set.labels
    inputs: dict[str, list[float]] = {}
    for index, label in enumerate(labels):
        item = trainer.val_set[index]
        key = label if len(set(labels)) > 1 else "validation"
        inputs.setdefault(key, []).append(psnr(item["degraded"], item["clean"]))
    per_set = {k.split("@", 1)[1]: v for k, v in start.items() if k.startswith("val/psnr@")}
    blank = {"changes": {}, "steps": 0, "seconds_per_step": None, "left_chance_step": None,
             "left_chance_share": None, "lowest": None, "collapsed": False}
    return [{"arm": "input", "what": "the validation images as they come", **blank,
             "validation": {label: sum(v) / len(v) for label, v in inputs.items()}},
            {"arm": "start", "what": f"`{init}`, before any adversarial step", **blank,
             "validation": per_set or {"validation": start["val/psnr"]}}]


def run_arm(name: str, run: Path, data: str, val: str, config_file: Path, init: str, budget: dict,
            batch: int | None, workers: int | None = None) -> dict:
    """Train (or resume) arm ``name`` into ``run``; its figures."""
    changes, what = ARMS[name]
    options = {"init": init, "seed": 0, **budget, **changes, **({"batch": batch} if batch else {}),
               **({"workers": workers} if workers is not None else {})}
    if "iters" in budget:
        options.update(val_every=budget["iters"], save_every=budget["iters"])
    config = config_for_run("attentive-gan", run, data, val, config_file, options, report=lambda line: None)
    Trainer(config, log=click.echo).fit()
    records = read_metrics(run)
    steps = json.loads((run / "config.json").read_text())["iters"]
    timed = [r["seconds_per_step"] for r in records if "seconds_per_step" in r]
    return {"arm": name, "what": what, "changes": changes, "steps": steps,
            "seconds_per_step": sorted(timed)[len(timed) // 2] if timed else None,
            "validation": last_validation(records), **discriminator_course(records, steps)}


def markdown(results: dict[str, dict], budget: dict, batch: int | None) -> str:
    """One row per arm: steps, s/step, each validation set's PSNR, and the discriminator's course."""
    sets = sorted({s for r in results.values() for s in r["validation"]})
    spent = f"{budget['iters']} steps" if "iters" in budget else f"{budget['minutes']:g} minutes"
    lines = [f"Adversarial stages of the Attentive GAN from the same generator, {spent} each"
             f"{f', batch {batch}' if batch else ''}; last validation (RGB PSNR, dB); D-loss at chance = "
             f"{CHANCE_D_LOSS:.3f}.", "",
             "| arm | changed | steps | s/step | " + " | ".join(s.replace("|", "\\|") for s in sets) + " | D leaves chance at | lowest D-loss |",
             "|---|---|---:|---:|" + "---:|" * len(sets) + "---:|---:|"]
    for r in results.values():
        cells = [f"{r['validation'][s]:.2f}" if s in r["validation"] else "—" for s in sets]
        trained = r["steps"] > 0 and r["lowest"] is not None  # a D-loss to follow
        left = ("—" if not trained else "never" if r["left_chance_step"] is None
                else f"step {r['left_chance_step']} ({100 * r['left_chance_share']:.0f} %)")
        lowest = "—" if r["lowest"] is None else f"{r['lowest']:.3f}" + (" (collapse)" if r["collapsed"] else "")
        seconds = "—" if r["seconds_per_step"] is None else f"{r['seconds_per_step']:.2f}"
        lines.append(f"| {r['arm']} | {r['what']} | {r['steps']} | {seconds} | " + " | ".join(cells)
                     + f" | {left} | {lowest} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--init", required=True, help="The generator every arm starts from (a release name or a checkpoint).")
@click.option("--arm", "arms", multiple=True, type=click.Choice(list(ARMS)), help="Default: all.")
@click.option("--minutes", type=float, default=30.0, show_default=True, help="Minutes of each arm.")
@click.option("--iters", type=int, default=None, help="Steps of each arm instead of a time budget.")
@click.option("--batch", type=int, default=None, help="Replace the recipe's batch (its 16 is slow on a CPU).")
@click.option("--workers", type=int, default=None, help="Replace the recipe's data workers (1 beside other work on 2 cores).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=ROOT / "scripts" / "recipes" / "attentive-gan-weather.json", show_default=True)
@click.option("--data", default=None, help="Training data (default: the recipes' WEATHER_TRAIN).")
@click.option("--val", default=None, help="Validation data (default: the recipes' WEATHER_VAL).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("docs/gan-stabilisers"), show_default=True)
@click.option("--runs", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/gan-stabilisers"), show_default=True)
def main(init: str, arms: tuple[str, ...], minutes: float, iters: int | None, batch: int | None, config_file: Path,
         data: str | None, val: str | None, out: Path, runs: Path, workers: int | None) -> None:
    """Train an adversarial stage per arm for equal time; tabulate validation and D's course."""
    budget = {"iters": iters} if iters else {"minutes": minutes}
    data = data or recipe_variable("WEATHER_TRAIN")
    val = val or recipe_variable("WEATHER_VAL")
    out.mkdir(parents=True, exist_ok=True)
    earlier = json.loads((out / "results.json").read_text())["arms"] if (out / "results.json").is_file() else {}
    results = {name: r for name, r in earlier.items() if arms and name not in arms and name in ARMS}
    baseline = starting_point(runs / "start", data, val, config_file, init, batch)
    for name in arms or ARMS:
        results[name] = run_arm(name, runs / name, data, val, config_file, init, budget, batch, workers)
        plot_run(runs / name, out / f"curves-{name}.png")
        click.echo(f"{name}: {results[name]['steps']} steps, validation {results[name]['validation']}")
    results = {**{row["arm"]: row for row in baseline}, **{name: results[name] for name in ARMS if name in results}}
    (out / "results.json").write_text(json.dumps({"init": init, "budget": budget, "batch": batch, "arms": results},
                                                 indent=1) + "\n")
    (out / "results.md").write_text(markdown(results, budget, batch))
    click.echo(f"wrote {out / 'results.md'} and {out / 'results.json'}")


if __name__ == "__main__":
    main()
