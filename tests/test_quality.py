"""The project's own rules, run with the tests so CI enforces them: layering contracts
(import-linter), lint (ruff) and types (mypy on app/ and db/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_layers_are_kept() -> None:
    result = run(
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_logo=True, no_cache=True))",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_lint() -> None:
    result = run(sys.executable, "-m", "ruff", "check", "app", "db", "ui", "tests", "packaging")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_app_and_db() -> None:
    result = run(sys.executable, "-m", "mypy", "app", "db")
    assert result.returncode == 0, result.stdout + result.stderr
