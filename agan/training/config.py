"""The configuration of a training run: every setting needed to rerun it, saved as ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agan.errors import InputError
from agan.nets.architectures import get_architecture
from agan.training.run_folder import RunFolder

#: The values of the settings that take one of a few (the command line offers the same).
CHOICES: dict[str, tuple[str, ...]] = {
    "schedule": ("cosine", "step", "constant"),
    "amp": ("none", "bf16", "fp16"),
    "loss": ("mse", "l1"),
    "perceptual": ("vgg", "none"),
    "gan_loss": ("vanilla", "relativistic"),
}


@dataclass
class TrainConfig:
    """Settings of one run. Loss weights and schedule follow the papers unless changed.

    Data specs are those of :mod:`agan.data.sources`; ``model_args`` are the
    architecture's constructor arguments (``in_channels`` is taken from the data
    when not given).
    """

    model: str
    data: str
    out: str
    val: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    iters: int = 1000
    batch: int = 4
    patch: int = 128
    grey: bool | None = None
    lr: float = 2e-4
    lr_d: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    schedule: str = "cosine"  # cosine | step | constant
    step_size: int = 0  # for "step": iterations between decays (0: iters // 3)
    gamma: float = 0.5
    min_lr_ratio: float = 0.01  # cosine floor, as a fraction of lr
    warmup: int = 0  # steps of a linear ramp of the lr from ~0 (fine-tuning with a fresh optimizer)
    clip_grad: float | None = None
    ema: float | None = None  # decay of an exponential moving average of the generator weights
    amp: str = "none"  # none | bf16 | fp16 (CUDA only)
    loss: str = "mse"  # supervised models: mse | l1
    perceptual: str = "vgg"  # attentive-gan: vgg | none
    adversarial: bool = False  # dncnn, unet: train against a patch discriminator (the GAN always has its own)
    adversarial_weight: float = 0.01
    attention_weight: float = 1.0
    multiscale_weight: float = 1.0
    perceptual_weight: float = 1.0
    map_weight: float = 0.05
    theta: float = 0.8
    d_ratio: int = 1
    gan_loss: str = "vanilla"  # vanilla: BCE on logits; relativistic: ESRGAN's relativistic average GAN
    d_spectral_norm: bool = False  # attentive-gan: spectral norm on every layer of D (the CNNs' D always has it)
    d_patch: int | None = None  # attentive-gan: side of the random square D judges (None, or >= patch: all)
    seed: int = 0
    init: str | None = None  # a shipped release or checkpoint whose weights start the run (fine-tuning)
    minutes: float | None = None  # a time budget: after a warm-up, iters is set so the schedule ends in it
    device: str = "auto"
    workers: int = 0
    share_weather: int = 1  # training patches that one synthetic weather draw degrades (PatchDataset share)
    log_every: int = 10
    val_every: int = 200
    val_limit: int = 4
    save_every: int = 200

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        """Settings from a JSON dict; unknown names and values of the wrong type are a one-line ValueError."""
        if not isinstance(data, dict):
            raise InputError(f"training settings must be a JSON object, not {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"unknown training settings: {', '.join(unknown)}")
        data = dict(data)
        for key, value in data.items():
            _check_type(key, value, known[key].type)
        if "betas" in data:
            data["betas"] = tuple(float(b) for b in data["betas"])
        return cls(**data)

    @classmethod
    def read(cls, path: str | Path) -> "TrainConfig":
        """A run's ``config.json``; a file that cannot be read or parsed is a ValueError naming it."""
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (OSError, ValueError) as err:
            raise InputError(f"{path}: cannot read the run's settings ({str(err).splitlines()[0]}); "
                             "fix or delete the file") from None

    def check(self) -> None:
        """Raise ValueError with one line for a setting out of range."""
        rules = [
            (self.iters >= 1, "iters must be at least 1"),
            (self.batch >= 1, "batch must be at least 1"),
            (self.patch >= 16, "patch must be at least 16 pixels"),
            (self.lr > 0, "lr must be positive"),
            *((getattr(self, key) in values, f"{key} must be {', '.join(values[:-1])} or {values[-1]}")
              for key, values in CHOICES.items()),
            (self.minutes is None or self.minutes > 0, "minutes must be positive"),
            (self.warmup >= 0, "warmup must be 0 or more steps"),
            (self.d_ratio >= 1, "d_ratio must be at least 1"),
            (self.d_patch is None or self.d_patch >= 16, "d_patch must be at least 16 pixels"),
            (not (self.adversarial and get_architecture(self.model).discriminator is not None),
             f"adversarial is for the CNNs: {self.model} always trains with its own discriminator"),
            (not (self.d_spectral_norm and get_architecture(self.model).discriminator is None),
             "d_spectral_norm is for attentive-gan's discriminator: the CNNs' patch discriminator always has it"),
            (self.adversarial_weight >= 0, "adversarial_weight must be 0 (a warm-up without the discriminator) or more"),
            (self.share_weather >= 1, "share_weather must be at least 1"),
            (self.ema is None or 0 < self.ema < 1, "ema must be a decay in (0, 1)"),
            (self.log_every >= 1 and self.val_every >= 1 and self.save_every >= 1, "log/val/save intervals must be >= 1"),
        ]
        for ok, message in rules:
            if not ok:
                raise InputError(message)


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
_NAMES = {"int": "a whole number", "float": "a number", "str": "a string", "bool": "true or false"}


def _check_type(key: str, value: Any, annotation: str) -> None:
    """Raise a one-line ValueError when ``value`` does not fit the field's annotation (``int | None``, ...)."""
    kinds = [part.strip() for part in str(annotation).split("|")]
    if value is None and "None" in kinds:
        return
    simple = [kind for kind in kinds if kind in _TYPES]
    if not simple:  # dicts, tuples: checked where they are used
        return
    if isinstance(value, bool) and "bool" not in simple:
        ok = False
    else:
        ok = any(isinstance(value, _TYPES[kind]) for kind in simple)
    if not ok:
        expected = " or ".join(_NAMES[kind] for kind in simple) + (" or null" if "None" in kinds else "")
        raise InputError(f"setting {key!r} must be {expected}, not {json.dumps(value)}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a ``--config`` JSON file; InputError naming the file when it cannot be read."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the configuration ({err})") from None


def resolve_config(model: str, overrides: dict[str, Any], config_file: str | Path | None = None) -> TrainConfig:
    """Defaults, then the model's paper defaults (its architecture entry's), then ``config_file`` (JSON),
    then ``overrides``."""
    values: dict[str, Any] = {"model": model, **get_architecture(model).defaults}
    if config_file is not None:
        values.update(read_config_file(config_file))
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["model"] = model
    config = TrainConfig.from_json(values)
    config.check()
    return config


#: Settings a resumed run takes from the command line; every other one is the run's own.
RESUMABLE = ("iters", "device", "workers", "val_every", "val_limit", "save_every", "log_every")


def resume_changes(config: TrainConfig, asked: dict[str, Any]) -> list[str]:
    """Apply what a resume may change to ``config``; one line for each setting asked for that differs.

    ``asked`` holds the command line's (and ``--config``'s) settings. Those in
    :data:`RESUMABLE` take effect; any other that differs from the run's own
    is kept as the run has it (the weights and optimizer were made with it),
    and the line says so.
    """
    lines = []
    for key, value in asked.items():
        if value is None or key in ("model", "out") or not hasattr(config, key):
            continue
        current = getattr(config, key)
        if key == "betas":
            value = tuple(value)
        if value == current:
            continue
        if key == "model_args" and value.items() <= current.items():
            continue  # the run holds more arguments (e.g. an --init release's), and these as asked
        if key in RESUMABLE:
            setattr(config, key, value)
            lines.append(f"resume: {key} {current} -> {value} (takes effect)")
        else:
            lines.append(f"resume: {key} {value} ignored: the run was started with {current} "
                         "(train into a new --out, or use --init, to change it)")
    return lines


def config_for_run(model: str, out: str | Path, data: str | None, val: str | None, config_file: str | Path | None,
                   options: dict[str, Any], report: Any = print) -> TrainConfig:
    """The settings of ``agan train MODEL --out OUT ...``: a run folder with ``checkpoints/last.pt`` is
    resumed with its saved settings (``report`` gets a line for each asked change, taken or ignored);
    otherwise a new run from the defaults, ``config_file`` and ``options`` (None = not given).

    Raises:
        InputError: a run of another model in ``out``, no training data for a new run, or a bad setting.
    """
    out = Path(out)
    folder = RunFolder(out)
    if folder.resumable():
        config = TrainConfig.read(folder.config)
        if config.model != model:
            raise InputError(f"{out}: holds a {config.model} run, not {model}")
        config.out = str(out)  # the folder may have been moved or copied since
        config.model_args = get_architecture(model).stored_args(config.model_args)
        asked = {**(read_config_file(config_file) if config_file else {}),
                 **{k: v for k, v in options.items() if v is not None}, "data": data, "val": val}
        for line in resume_changes(config, asked):
            report(line)
        config.check()
        return config
    if data is None and config_file is None:
        raise InputError("give the training data (--data)")
    return resolve_config(model, {"data": data, "val": val, "out": str(out), **options}, config_file)
