"""`meltano run tap-callrecords target-jsonl` against the sandbox, with the real Meltano
and target-jsonl that `make setup` / `meltano install` put on this machine."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_meltano_run_lands_every_record_once(tmp_path):
    output = tmp_path / "output"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py"), "--records", "3000", "--output", str(output)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "MISMATCH" not in result.stdout
    for stream in ("voiso_cdr", "smartflo_call_records", "zoom_voice_calls"):
        assert f"{stream:<26} {3000:>9} {3000:>12} {3000:>9} ok" in result.stdout
        assert (output / f"{stream}.jsonl").read_text().count("\n") == 3000
