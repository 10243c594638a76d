"""Making a release: a training run's weights as a shipped model, with an honest model card.

``agan release RUN NAME`` (and the recipes, which call it) writes
``NAME.pt`` (fp16 weights) and ``NAME.json`` (the card) with :func:`release`,
after :func:`card_from_run` has read what the run folder says about its
training, and :func:`evaluate_release` has scored the *released* file on the
recipe's test sets beside the unrestored input and the classical filters.

A run folder may come without its ``checkpoints/`` (a run trained on another
machine, shipped as ``config.json``, ``metrics.jsonl``, ``samples/`` and
``release/NAME.pt``): :func:`find_checkpoint` then takes ``release/NAME.pt``.

Cards never hold an absolute path: data specs are written relative to the
folder of the image sets as ``$DATA/kodak24`` (:func:`portable_spec`), as the
recipes name them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from agan.data.io import atomic_write_bytes
from agan.data.data_spec import DataSpec
from agan.data.spec import SpecError
from agan.errors import InputError
from agan.evaluation.compare import MetricOptions, RowCache, run_methods
from agan.evaluation.metrics import METRICS
from agan.evaluation.report import summarize
from agan.methods.card_fields import hub_fields
from agan.methods.registry import build_method, short_label
from agan.methods.shipped import RELEASES, STATUSES, check_name, release_paths
from agan.nets.checkpoints import load_checkpoint, release_checkpoint
from agan.training.config import TrainConfig, resolve_config
from agan.training.run_folder import RunFolder, read_metrics

__all__ = [
    "DATA_VARIABLE", "RECIPES_DIR", "card_from_run", "default_data_root", "evaluate_release", "evaluation_text",
    "find_checkpoint", "init_lineage", "lineage", "make_release", "portable_spec",
    "recipe_command", "release", "stage", "training_record", "write_card",
]

#: How cards and recipes name the folder of the image sets.
DATA_VARIABLE = "$DATA"
RECIPES_DIR = Path(__file__).resolve().parents[2] / "scripts" / "recipes"

#: ``agan train`` options, TrainConfig field -> flag, that a recipe command may need to repeat.
_TRAIN_FLAGS = ("init", "minutes", "iters", "batch", "patch", "lr", "warmup", "schedule", "loss", "perceptual",
                "adversarial", "adversarial_weight", "d_ratio", "d_patch", "clip_grad", "ema", "amp", "val_every", "val_limit",
                "save_every", "workers", "seed")


def find_checkpoint(run: str | Path, name: str, which: str = "best") -> Path:
    """The checkpoint of ``run`` to release: ``checkpoints/WHICH.pt``, else ``release/NAME.pt``.

    Raises:
        ValueError: neither exists (both named).
    """
    run = Path(run)
    for candidate in (RunFolder(run).checkpoint(which), RunFolder(run).release(name)):
        if candidate.is_file():
            return candidate
    raise InputError(f"{run}: no checkpoints/{which}.pt and no release/{name}.pt to release")


def portable_spec(spec: str | None, data_root: str | Path) -> str | None:
    """``spec`` with each path written as ``$DATA/<path relative to data_root>``.

    ``PATH``, ``pairs:DEGRADED=CLEAN`` and ``synthetic:KINDS:PATH[,PATH...]``
    specs are rewritten, and each part of a ``;``-joined spec; a path is
    resolved against the working folder first.

    Raises:
        SpecError: a path outside ``data_root`` (a card must not hold a
            machine's own paths).
    """
    if spec is None:
        return None
    root = Path(data_root).resolve()

    def portable(path_text: str) -> str:
        if path_text.startswith(DATA_VARIABLE):
            return path_text
        path = Path(path_text.strip()).expanduser().resolve()
        try:
            relative = path.relative_to(root)
        except ValueError:
            raise SpecError(f"{path_text}: outside the data folder {data_root}; give the folder that holds it "
                            f"(--data-root) so the card can name it portably") from None
        return DATA_VARIABLE if relative == Path(".") else f"{DATA_VARIABLE}/{relative.as_posix()}"

    return str(DataSpec.parse(spec).map_paths(portable))


def recipe_command(name: str, config: dict[str, Any], recipes: str | Path = RECIPES_DIR) -> str:
    """The recipe command that reproduces ``config``: ``bash scripts/recipes/NAME.sh`` plus the
    ``agan train`` options where the run differed from the recipe (e.g. a lowered ``--iters``)."""
    command = f"bash scripts/recipes/{name}.sh"
    recipe = Path(recipes) / f"{name}.json"
    if not recipe.is_file():
        return command
    planned = resolve_config(config["model"], {"data": config["data"], "out": config["out"]}, recipe)
    flags = []
    for key in _TRAIN_FLAGS:
        value = config.get(key)
        if value is True and value != getattr(planned, key):
            flags.append(f"--{key.replace('_', '-')}")
        elif value is not None and value is not False and value != getattr(planned, key):
            flags.append(f"--{key.replace('_', '-')} {init_label(value) if key == 'init' else value}")
    if config.get("grey") is not None and config.get("grey") != planned.grey:
        flags.append("--grey" if config["grey"] else "--color")
    return " ".join([command, *flags])


def training_record(run: str | Path) -> dict[str, Any]:
    """What a run folder says about its training: config, steps reached, time, hardware, best validation.

    Reads ``RUN/config.json`` and ``RUN/metrics.jsonl``. The training time is
    the sum of the logged seconds per step times the steps each record covers
    (validation and checkpoint writing excluded). The best validation is the
    record with the highest ``val/psnr`` (what ``best.pt`` holds).

    Raises:
        ValueError: a file is missing or empty (named).
    """
    config_path = RunFolder(run).config
    if not config_path.is_file():
        raise InputError(f"{config_path}: no such file (is {run} a training run folder?)")
    config = TrainConfig.from_json(json.loads(config_path.read_text())).to_json()
    records = read_metrics(run)
    seconds, previous = 0.0, 0
    for record in records:
        if "seconds_per_step" in record:
            seconds += record["seconds_per_step"] * max(record["step"] - previous, 0)
            previous = record["step"]
    hardware = _hardware(sorted({r["device"] for r in records if "device" in r}))
    validated = [r for r in records if "val/psnr" in r]
    best = max(validated, key=lambda r: r["val/psnr"]) if validated else None
    return {
        "config": config,
        "steps": max(r["step"] for r in records),
        "training_seconds": round(seconds, 2),
        "hardware": ", ".join(hardware) or "not recorded",
        "validation": None if best is None else {
            "data": config.get("val"), "step": best["step"], "images": config.get("val_limit"),
            **{k.removeprefix("val/"): round(v, 4) for k, v in best.items() if k.startswith("val/")}},
    }


def _recipe_of(run: str | Path, name: str) -> str:
    """The recipe a run folder was trained by: the one named after the folder, else the release's."""
    folder = Path(run).name
    return folder if (RECIPES_DIR / f"{folder}.sh").is_file() else name


def card_from_run(run: str | Path, name: str, *, data_root: str | Path, status: str = "preview",
                  note: str | None = None, command: str | None = None) -> dict[str, Any]:
    """A model card for the release ``name`` of ``run`` (see :func:`training_record`).

    Args:
        run: the training run folder.
        name: the release name (one of :data:`~agan.methods.shipped.RELEASES`).
        data_root: the folder of the image sets; data specs are written relative to it.
        status: ``preview`` (a short or weak run, said so wherever it is used) or ``stable``.
        note: a sentence on anything the figures alone do not say (how a run ended, ...).
        command: the command that reproduces the run; default :func:`recipe_command` of the recipe
            named after the run folder when there is one (a stage's own recipe, e.g.
            ``attentive-gan-weather-warmup``), else of ``name``.
    """
    check_name(name)
    if status not in STATUSES:
        raise InputError(f"status {status!r}: must be one of {', '.join(STATUSES)}")
    record = training_record(run)
    config = record["config"]
    validation = record["validation"]
    if validation is not None:
        validation["data"] = portable_spec(validation["data"], data_root)
    return {
        "name": name,
        "status": status,
        "lineage": lineage(run, record, data_root),
        "summary": RELEASES[name],
        "model": config["model"],
        "data": portable_spec(config["data"], data_root),
        "steps_planned": config["iters"],
        "steps": record["steps"],
        "batch": config["batch"],
        "patch": config["patch"],
        "hardware": record["hardware"],
        "training_seconds": record["training_seconds"],
        "command": command or recipe_command(_recipe_of(run, name), config),
        "losses": _losses(config),
        "ema": config.get("ema"),
        "validation": validation,
        "note": note,
        "evaluations": [],
        "released": time.strftime("%Y-%m-%d"),
        "agan": _version(),
    }


def _losses(config: dict[str, Any]) -> dict[str, Any]:
    """What the network was trained against, for the card: its content loss or the GAN's perceptual
    loss, and the GAN term's weight when a discriminator took part."""
    adversarial = config["model"] == "attentive-gan" or bool(config.get("adversarial"))
    losses: dict[str, Any] = ({"perceptual": config.get("perceptual", "vgg")} if config["model"] == "attentive-gan"
                              else {"content": config.get("loss", "mse")})
    if adversarial:
        losses["adversarial_weight"] = config.get("adversarial_weight", 0.01)
    return losses


def _hardware(devices: list[str]) -> list[str]:
    """The devices a run's sessions reported, CPU sessions at several thread counts as one:
    ``["cpu, 1 threads", "cpu, 2 threads"]`` -> ``["cpu, 1/2 threads"]``."""
    cpu = [d for d in devices if re.fullmatch(r"cpu, \d+ threads", d)]
    if len(cpu) < 2:
        return devices
    counts = sorted(int(d.split()[1]) for d in cpu)
    return [d for d in devices if d not in cpu] + [f"cpu, {'/'.join(map(str, counts))} threads"]


def stage(start: str | None, steps: int, hardware: str, seconds: float, data: str | None) -> dict[str, Any]:
    """One stage of a model's lineage: what it started from, its steps, hardware, minutes and data."""
    return {"start": start or "scratch", "steps": steps, "hardware": hardware, "minutes": round(seconds / 60, 1),
            "data": data}


def lineage(run: str | Path, record: dict[str, Any], data_root: str | Path) -> list[dict[str, Any]]:
    """The stages that made ``run``'s weights: those of what it was ``--init``-ed from
    (``RUN/lineage.json``, written when the run began: :func:`init_lineage`), then the run itself."""
    path = RunFolder(run).lineage
    earlier = json.loads(path.read_text()) if path.is_file() else []
    config = record["config"]
    start = None if config.get("init") is None else init_label(config["init"])
    return earlier + [stage(start, record["steps"], record["hardware"], record["training_seconds"],
                            portable_spec(config["data"], data_root))]


def init_lineage(init: str) -> list[dict[str, Any]]:
    """The lineage of the weights ``--init`` names: a release's from its card; a checkpoint's
    (a run of this machine, not yet released) as one stage of its recorded steps."""
    from agan.methods.shipped import load_card

    if init in RELEASES:
        card = load_card(init)
        return card.get("lineage") or [stage(None, card["steps"], card["hardware"], card["training_seconds"],
                                             card.get("data"))]
    training = load_checkpoint(init).get("training") or {}
    return [stage(None, int(training.get("step", 0)), "not recorded", 0.0, None)]


def init_label(init: str) -> str:
    """How a card names an ``--init``: a release by its name, a checkpoint by its file name (no folders)."""
    return init if init in RELEASES else Path(init).name


def _version() -> str:
    """agan's version and, in a git checkout, its commit (``-dirty`` with uncommitted changes):
    the code that measured the card's figures."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("agan")
    except PackageNotFoundError:
        text = "unknown"
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        commit = ""
    return f"{text} ({commit})" if commit else text


def _card_scores(summary: dict[str, Any]) -> dict[str, float]:
    """A method's means as a card keeps them: each card metric, then each one's Y column (see
    :data:`agan.evaluation.metrics.METRICS`)."""
    kept = {name: metric for name, metric in METRICS.items() if metric.card}
    scores = {name: round(summary[name], metric.card_digits) for name, metric in kept.items()}
    scores.update({f"{name}_y": round(summary[f"{name}_y"], metric.card_digits)
                   for name, metric in kept.items() if metric.by_convention})
    return scores


def evaluate_release(weights: str | Path, name: str, spec: str, compare: tuple[str, ...] = (), *,
                     data_root: str | Path, device: str = "cpu", seed: int = 0, cache: RowCache | None = None,
                     progress: bool = False) -> dict[str, Any]:
    """Score the released file (labelled ``name``), the input and the ``compare`` methods on ``spec``.

    PSNR/SSIM are measured on RGB (or grey) and on Y (BT.601), float images,
    no border crop, data range 1. Synthetic data is degraded with ``seed``
    (image *i* with ``[seed, i]``).

    Returns:
        ``{"data", "images", "seed", "convention", "results": [{method, kind, psnr, ssim, psnr_y,
        ssim_y, sec_per_mp}, ...]}``, ``kind`` being ``input``, ``model`` (this release),
        ``network`` (another trained model) or ``filter``.
    """
    from agan.data.datasets import ImageDataset
    from agan.data.sources import open_source

    # cards measure the released weights in fp32 on every machine (--precision auto may pick bf16 at use)
    methods = ([build_method("input"), build_method(str(weights), device, precision="fp32")]
               + [build_method(m, device, precision="fp32") for m in compare])
    dataset = ImageDataset(open_source(spec), seed=seed)
    options, y = MetricOptions(), MetricOptions(y_channel=True)
    rows, _ = run_methods(dataset, methods, options=options, also={"y": y}, cache=cache, progress=progress)
    summary = summarize(rows)  # one entry per method, in the order of ``methods``
    names = ["input", name] + [short_label(m.label) for m in methods[2:]]
    kinds = ["input", "model"] + ["network" if m.learned else "filter" for m in methods[2:]]
    return {
        "data": portable_spec(spec, data_root), "images": len(dataset), "seed": seed,
        "convention": f"PSNR/SSIM on {options.describe()}; _y columns on {y.describe()}",
        "results": [{"method": method, "kind": kind, **_card_scores(s), "sec_per_mp": round(s["sec_per_mp"], 3)}
                    for method, kind, s in zip(names, kinds, summary)],
    }


def release(checkpoint: str | Path, name: str, card: dict[str, Any],
            folder: str | Path | None = None, *, live: bool = False) -> tuple[Path, Path]:
    """Write the release ``name``: the checkpoint's weights as fp16, and the card beside them.

    The weights written are the checkpoint's ``weights`` (the EMA ones when
    the run kept an EMA), or with ``live`` the network's own weights at its
    step; integer buffers stay as they are. Both files are
    written atomically; the card gets the architecture, ``parameters`` and ``file_mb``.

    Returns:
        ``(weights path, card path)``.
    """
    check_name(name)
    from agan.nets import count_parameters
    from agan.nets.architectures import get_architecture

    weights_path, card_path = release_paths(name, folder)
    payload = load_checkpoint(checkpoint)
    architecture = get_architecture(payload["model"])
    network = architecture.build(**architecture.checkpoint_args(payload))
    release_checkpoint(checkpoint, weights_path, half=True, live=live)
    card = {**card, "name": name, "model": payload["model"], "model_args": payload["model_args"],
            "parameters": count_parameters(network), "weights": "fp16",
            "file_mb": round(weights_path.stat().st_size / 2**20, 2)}
    write_card(card_path, {**card, **hub_fields(card, weights_path)})
    return weights_path, card_path


def write_card(path: str | Path, card: dict[str, Any]) -> Path:
    """Write a model card as indented JSON, atomically."""
    atomic_write_bytes(path, (json.dumps(card, indent=2) + "\n").encode())
    return Path(path)


def default_data_root() -> Path:
    """``$DATA`` when set, else ``../shared/data`` (where the recipes look by default)."""
    return Path(os.environ.get("DATA", "../shared/data"))


def make_release(run: str | Path, name: str, *, out: str | Path | None = None, checkpoint: str = "best",
                 status: str = "preview", note: str | None = None, specs: tuple[str, ...] = (),
                 compare: tuple[str, ...] = (), data_root: str | Path | None = None, device: str = "cpu",
                 cache: str | Path | None = None, progress: bool = False, echo=print,
                 live: bool = False) -> tuple[Path, Path]:
    """Release ``run`` as ``name`` into ``out``: weights, card, and the card's evaluations on ``specs``.
    ``live``: the network's own weights at the checkpoint's step rather than their EMA (the card says which).

    Everything is made in a staging folder inside ``out`` and renamed into
    place at the end, so a failed evaluation leaves the previous release whole.
    ``echo`` receives each evaluation's table as text.

    Returns:
        ``(weights path, card path)``.
    """
    check_name(name)
    data_root = Path(data_root) if data_root is not None else default_data_root()
    for spec in specs:
        portable_spec(spec, data_root)  # a spec the card could not name fails before any work
    source = find_checkpoint(run, name, checkpoint)
    card = card_from_run(run, name, data_root=data_root, status=status, note=note)
    if card.get("ema") or live:  # which weights of the checkpoint the release holds
        card["released_weights"] = "live" if live else "ema"
    final_weights, final_card = release_paths(name, out)
    staging = final_weights.parent / f".staging-{name}-{os.getpid()}"
    try:
        weights, card_path = release(source, name, card, staging, live=live)
        card = json.loads(card_path.read_text())
        row_cache = RowCache(cache) if cache is not None else None
        for spec in specs:
            evaluation = evaluate_release(weights, name, spec, compare, data_root=data_root, device=device,
                                          cache=row_cache, progress=progress)
            card["evaluations"].append(evaluation)
            echo(evaluation_text(evaluation))
        write_card(card_path, {**card, **hub_fields(card, weights)})  # limitations read the evaluations
        os.replace(weights, final_weights)
        os.replace(card_path, final_card)
    finally:
        for leftover in staging.glob("*") if staging.is_dir() else ():
            leftover.unlink()
        if staging.is_dir():
            staging.rmdir()
    return final_weights, final_card


def evaluation_text(evaluation: dict[str, Any]) -> str:
    """A card evaluation as an aligned plain-text table."""
    width = max(len(r["method"]) for r in evaluation["results"])
    scores = [key for key in evaluation["results"][0] if key not in ("method", "kind", "sec_per_mp")]
    lines = [f"{evaluation['data']} ({evaluation['images']} images, seed {evaluation['seed']}; {evaluation['convention']}):",
             f"  {'method'.ljust(width)}  {'kind':8} " + " ".join(f"{key.upper():>7}" for key in scores) + f"  {'s/MP':>7}"]
    lines += [f"  {r['method'].ljust(width)}  {r['kind']:8} " + " ".join(f"{r[key]:7.{METRICS[key.partition('_')[0]].digits}f}" for key in scores)
              + f"  {r['sec_per_mp']:7.3f}" for r in evaluation["results"]]
    return "\n".join(lines)
