"""The import contracts in pyproject.toml ([tool.importlinter]) hold, and catch a fault.

A fault is planted in a temporary copy of the sources (the .py files and pyproject.toml),
never in the checkout, and `lint-imports` must then fail naming the broken contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="import-linter is not installed: pip install -e '.[dev]'"
)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(
        REPO / "services",
        root / "services",
        ignore=lambda folder, names: (
            [n for n in names if not (n.endswith(".py") or (Path(folder) / n).is_dir())]
            + ["__pycache__"]
        ),
    )
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def _plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_sources_keep_their_contracts(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_importing_the_analyzer_breaks_the_layers(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _plant(
        root, "services/core/settings.py", "import services.analyzer.sentiment.expressions  # noqa"
    )
    result = _lint(root)
    assert result.returncode == 1
    assert "Layers: core < net < store" in result.stdout and "BROKEN" in result.stdout
    assert "services.core.settings -> services.analyzer.sentiment.expressions" in result.stdout


def test_the_collector_reaching_the_sql_store_breaks_its_contract(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _plant(root, "services/collector/partition.py", "import services.store.state.leases  # noqa")
    result = _lint(root)
    assert result.returncode == 1
    assert "through its contract, not the SQL" in " ".join(result.stdout.split())


def test_a_command_module_importing_main_is_a_cycle(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _plant(root, "services/cli/common.py", "import services.cli.main  # noqa")
    result = _lint(root)
    assert result.returncode == 1
    assert "No cycles are allowed in services.cli" in result.stdout
