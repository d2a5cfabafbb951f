"""The house's arrows point one way: a module of ``bridge/`` imports only from its own layer
or from layers below it (README, "Layout").

From the top: the click group, the operations commands, the composition root, local mode,
HTTP in, delivery, the bot backends, the outbound API's rules, the queue, the Messenger
Platform, configuration and the error tree. ``obs`` (logs, metrics) may be imported by anyone
and itself imports nothing above ``messenger``. Every import counts: at module level, inside
functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first; a module may import its own layer and any layer before it in this list.
LAYERS = (
    ("bridge.errors",),
    ("bridge.config",),
    ("bridge.messenger",),
    ("bridge.queue",),
    ("bridge.outbound",),
    ("bridge.bots",),
    ("bridge.delivery",),
    ("bridge.web",),
    ("bridge.local",),
    ("bridge.app",),
    ("bridge.ops",),
    ("bridge.cli", "bridge.__main__"),
)
OBS = "bridge.obs"
OBS_MAY_IMPORT = "bridge.messenger"  # obs imports this layer and those below it, besides itself


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> list[tuple[int, str]]:
    """Every ``bridge`` module ``path`` imports, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from bridge import x`` may name a module x: count the most specific name.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, target) for line, target in found if target.split(".")[0] == "bridge"]


def rank(module: str) -> int | None:
    """The layer of ``module`` (None: obs, or the package root, which anyone may import)."""
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


def _rank_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(p == module or p.startswith(module + ".") for p in prefixes):
            return index
    return -1


def wrong_way(root: Path) -> list[str]:
    """The imports under ``root/bridge`` that point against the layer order."""
    limit = rank(OBS_MAY_IMPORT)
    assert limit is not None
    problems: list[str] = []
    for path in sorted((root / "bridge").rglob("*.py")):
        source = module_name(root, path)
        for line, target in imports_of(path, source):
            if target.startswith(OBS + ".") or target == OBS:
                continue
            to = rank(target)
            if to is None:
                to = _rank_of(target)  # ``from bridge import __version__`` and the like
            if source.startswith(OBS + ".") or source == OBS:
                allowed = limit
            else:
                at = rank(source)
                if at is None:
                    continue  # bridge/__init__.py
                allowed = at
            if to > allowed:
                where = path.relative_to(root)
                problems.append(f"{where}:{line}: {source} imports {target}")
    return problems


def test_every_import_points_down_the_layers() -> None:
    assert wrong_way(ROOT) == []


def test_every_bridge_module_has_a_layer() -> None:
    homeless = [
        module_name(ROOT, path)
        for path in (ROOT / "bridge").rglob("*.py")
        if rank(module_name(ROOT, path)) is None
        and not module_name(ROOT, path).startswith(OBS)
        and module_name(ROOT, path) != "bridge"
    ]
    assert homeless == []


@pytest.mark.parametrize(
    ("where", "line", "expected"),
    [
        (
            "bridge/messenger/render.py",
            "from bridge.delivery.turn import Turn\n",
            "bridge.messenger.render imports bridge.delivery.turn.Turn",
        ),
        (
            "bridge/queue/store.py",
            "def f():\n    from bridge.web import webhook\n",
            "bridge.queue.store imports bridge.web.webhook",
        ),
        (
            "bridge/obs/metrics.py",
            "from bridge.queue import Queue\n",
            "bridge.obs.metrics imports bridge.queue.Queue",
        ),
        (
            "bridge/config/settings.py",
            "from ..ops import setup\n",
            "bridge.config.settings imports bridge.ops.setup",
        ),
    ],
)
def test_a_planted_wrong_way_import_is_caught(
    tmp_path: Path, where: str, line: str, expected: str
) -> None:
    for folder in ("bridge", *{str(Path(where).parent)}):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "__init__.py").touch()
    (tmp_path / where).write_text(line, encoding="utf-8")
    assert wrong_way(tmp_path) == [f"{where}:{line.count(chr(10))}: {expected}"]


def test_imports_down_the_layers_and_of_obs_are_fine(tmp_path: Path) -> None:
    (tmp_path / "bridge" / "delivery").mkdir(parents=True)
    (tmp_path / "bridge" / "obs").mkdir(parents=True)
    (tmp_path / "bridge" / "delivery" / "turn.py").write_text(
        "from bridge.messenger import render\nfrom bridge.obs import metrics\n"
        "from bridge import errors\nfrom . import loop\n",
        encoding="utf-8",
    )
    (tmp_path / "bridge" / "obs" / "logs.py").write_text(
        "from bridge.messenger.events import Text\nfrom bridge.errors import BridgeError\n",
        encoding="utf-8",
    )
    assert wrong_way(tmp_path) == []
