"""Start the real program offscreen with --demo, log in, reach the main window, and quit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_program_starts_with_demo_and_quits(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SQUADDESK_PASSWORD="squad2026")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ui.main",
            "--data-dir",
            str(tmp_path / "d"),
            "--demo",
            "--login",
            "admin",
            "--quit-after-start",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "ready" in result.stdout and "todos" in result.stdout
    assert (
        "pages: start,personnel,certificates,training,rosters,leads,cases,documents,reference,sync,audit,settings"
        in result.stdout
    )
    assert (tmp_path / "d" / "squaddesk.sqlite3").exists()
