"""README.md's quick start, run as written: its ```sh blocks in one bash session and its
```python blocks with this interpreter (in order), against a real `meterline serve`, with
the key it printed and its port substituted. The README is the source of truth: this test
only reads it."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import CLI, free_port

README = Path(__file__).resolve().parent.parent / "README.md"
KEY_PLACEHOLDER = "ml_paste_the_key_here"


def quick_start_blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [(m[1], m[2]) for m in re.finditer(r"^```(sh|python)\n(.*?)^```$", section, re.M | re.S)]


def script(key: str, port: int) -> str:
    """One bash script: sh blocks as they are, python blocks fed to this interpreter."""
    parts = ["set -euo pipefail"]
    for kind, code in quick_start_blocks():
        code = code.replace(KEY_PLACEHOLDER, key).replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        if kind == "sh":
            parts.append(code)
        else:
            parts.append(f"'{sys.executable}' - <<'PYTHON_BLOCK'\n{code}PYTHON_BLOCK")
    return "\n".join(parts) + "\n"


def test_quick_start_blocks_exist() -> None:
    kinds = [kind for kind, _ in quick_start_blocks()]
    assert kinds.count("sh") >= 4 and kinds.count("python") == 1
    text = README.read_text()
    assert "make serve PORT=" in text and "pip install vayu-py==0.3.11" in text and ".venv/bin/meterline" in text


def test_quick_start_runs_verbatim(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "METERLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.db'}"}
    server = subprocess.Popen(
        [CLI, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert server.stdout is not None
        key = ""
        while not key:
            line = server.stdout.readline()
            assert line, "serve ended before printing a key"
            if "API key" in line:
                key = line.rsplit(" ", 1)[-1].strip()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        run = subprocess.run(["bash", "-c", script(key, port)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        out = run.stdout.splitlines()
        assert "1 accepted, 0 refused" in out
        # What the blocks did, read back through the API.
        token = httpx.post(f"{url}/login", json={"refreshToken": key}).json()["accessToken"]
        auth = {"Authorization": f"Bearer {token}"}
        [customer] = httpx.get(f"{url}/customers", headers=auth).json()["customers"]
        consumption = httpx.get(
            f"{url}/customers/products-consumptions/{customer['id']}",
            params={"at": "2026-01-31T23:59:59Z"},
            headers=auth,
        ).json()["productsConsumptions"]
        assert [(c["consumedAmount"], c["provisionedAmount"]) for c in consumption] == [(115000, 100000)]
        assert json.loads(out[-2])["productsConsumptions"] == consumption
        [invoice] = httpx.get(f"{url}/invoices", params={"customerId": customer["id"]}, headers=auth).json()[
            "invoices"
        ]
        assert out[-1] == str(invoice["amount"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
