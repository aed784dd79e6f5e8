"""With the PostgreSQL of METERLINE_TEST_PG_URL unreachable, pytest stops at session start
with one line naming the variable (not one error per `[postgres]` test)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_postgres_stops_the_run_with_one_line(tmp_path: Path) -> None:
    tiny = tmp_path / "test_tiny.py"
    tiny.write_text("def test_runs() -> None:\n    pass\n")
    env = dict(os.environ, METERLINE_TEST_PG_URL=f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{_closed_port()}/t")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", str(tiny)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode == 4, lines
    assert len(lines) == 1, lines
    assert "METERLINE_TEST_PG_URL" in lines[0] and "unreachable" in lines[0]
    assert "s3cret" not in lines[0]
