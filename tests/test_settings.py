"""The settings model: a bad value stops start-up in one line naming the variable, and
README.md's table lists exactly the model's variables."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from meterline.config import Settings, SettingsError, env_name
from tests.support import CLI, free_port

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_table_equals_the_model() -> None:
    text = README.read_text()
    section = text.split("## Configuration (environment)", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `METERLINE_")]
    documented = {re.match(r"\| `(METERLINE_[A-Z0-9_]+)`", row).group(1) for row in rows}  # type: ignore[union-attr]
    assert len(rows) == len(documented)  # one row per variable
    assert documented == {env_name(f) for f in Settings.model_fields}


@pytest.mark.parametrize(
    ("name", "bad"),
    [("METERLINE_RATE_LIMIT_BURST", "lots"), ("METERLINE_INVOICE_INTERVAL", "soon"), ("METERLINE_LOG_LEVEL", "LOUD")],
)
def test_a_bad_value_is_one_line_naming_the_variable(tmp_path: Path, name: str, bad: str) -> None:
    env = {**os.environ, "METERLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", name: bad}
    out = subprocess.run(
        [CLI, "serve", "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and repr(bad) in lines[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "x.db").exists()


def test_values_parse_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERLINE_BACKGROUND_JOBS", "0")
    monkeypatch.setenv("METERLINE_ACCESS_LOG_SAMPLE", "0.25")
    monkeypatch.setenv("METERLINE_REDIS_URL", "")  # empty: unset
    loaded = Settings.from_env()
    assert loaded.background_jobs is False and loaded.access_log_sample == 0.25 and loaded.redis_url is None
    monkeypatch.setenv("METERLINE_ACCESS_LOG_SAMPLE", "2")
    with pytest.raises(SettingsError, match="METERLINE_ACCESS_LOG_SAMPLE"):
        Settings.from_env()
    monkeypatch.delenv("METERLINE_ACCESS_LOG_SAMPLE")
    monkeypatch.setenv("METERLINE_WEBHOOK_LEASE_SECONDS", "-1")
    with pytest.raises(SettingsError, match="METERLINE_WEBHOOK_LEASE_SECONDS"):
        Settings.from_env()
    monkeypatch.delenv("METERLINE_WEBHOOK_LEASE_SECONDS")
    # Keyword arguments win over the environment (tests and embedding code).
    assert Settings(database_url="sqlite:///./other.db").database_url == "sqlite:///./other.db"
