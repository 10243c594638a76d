"""The package's shape: the parts and the direction of imports between them, no module-level import
cycle among agan's modules, one top-level package."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"agan": "agan", "agan.data": "data", "agan.baselines": "baselines"}


def _modules() -> dict[str, Path]:
    modules = {}
    for package, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The agan modules ``path`` imports when it is loaded (imports inside functions wait, so they are left out)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agan"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found & set(modules)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path of names), or None."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_module_level_import_cycle():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


#: The parts of agan, lowest first; a module imports from its own part or a lower one, never a higher
#: one (imports inside functions included). The CNN baselines are networks; the classical filters sit
#: beside them on the data layer's images.
PARTS = (
    ("base", ("agan.errors", "agan.device", "agan.hub")),
    ("data", ("agan.data",)),
    ("filters", ("agan.baselines", "agan.baselines.filters", "agan.baselines.filter_params", "agan.baselines.noise_level")),
    ("nets", ("agan.nets", "agan.baselines.dncnn", "agan.baselines.unet")),
    ("methods", ("agan.methods",)),
    ("evaluation", ("agan.evaluation",)),
    ("training", ("agan.training",)),
    ("work", ("agan", "agan.restore", "agan.synth", "agan.demo", "agan.app")),
    ("cli", ("agan.cli", "agan.cli_train", "agan.cli_options")),
)


def part_of(module: str) -> int:
    """The rank of ``module``'s part in :data:`PARTS`: the part naming the longest prefix of it."""
    best, rank = -1, None
    for index, (_, prefixes) in enumerate(PARTS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    if rank is None:
        raise AssertionError(f"{module} is in no part of tests/test_layout.py's PARTS: add it")
    return rank


def upward_imports(modules: dict[str, Path]) -> list[str]:
    """Every import of a module from a higher part, as ``file:line: import ... (part -> part)``."""
    found = []
    for name, path in sorted(modules.items()):
        own = part_of(name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agan"):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("agan")]
            else:
                continue
            for target in targets:
                if part_of(target) > own:
                    line = ast.get_source_segment(path.read_text(), node) or target
                    found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{node.lineno}: {line} "
                                 f"({PARTS[own][0]} imports {PARTS[part_of(target)][0]})")
    return found


def test_every_import_goes_to_the_same_part_or_a_lower_one():
    assert upward_imports(_modules()) == []


def test_the_part_check_names_an_upward_import(tmp_path):
    offending = tmp_path / "sources.py"
    offending.write_text("import numpy\n\n\ndef f():\n    from agan.training.engine import Trainer\n")
    found = upward_imports({"agan.data.sources": offending})
    assert len(found) == 1 and found[0].endswith(":5: from agan.training.engine import Trainer (data imports training)")


def test_one_top_level_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(name == "agan" or name.startswith("agan.") for name in config["packages"])
    assert set(config["package-dir"].values()) == set(FOLDERS.values())
    listed = set(config["packages"])
    for name, path in _modules().items():
        if path.name == "__init__.py":
            assert name in listed, f"{name} is a package that pip would leave out"
