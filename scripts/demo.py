"""The main job, end to end: start the sandbox, ``meltano run tap-callrecords target-jsonl``
against it, and print what landed per stream.

    python scripts/demo.py [--records 25000] [--output output]

Every configured vendor's sandbox gets ``--records`` calls; the run must land exactly
those, each primary key once, or this exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from tap_callrecords.sandbox.client import SandboxProcess
from tap_callrecords.vendors import VENDORS

ROOT = Path(__file__).resolve().parent.parent


def meltano_executable() -> str:
    """The project's Meltano (installed by ``make setup``), else one on PATH."""
    local = ROOT / ".venv-meltano" / "bin" / "meltano"
    found = os.environ.get("MELTANO") or (str(local) if local.exists() else shutil.which("meltano"))
    if not found:
        raise SystemExit("meltano not found: run `make setup` first")
    return found


def env_for(config: dict) -> dict[str, str]:
    """Meltano environment variables for a tap config (nested keys joined with ``_``)."""
    env: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                env[f"TAP_CALLRECORDS_{key}_{sub_key}".upper()] = (
                    json.dumps(sub_value) if isinstance(sub_value, list | dict) else str(sub_value)
                )
        else:
            env[f"TAP_CALLRECORDS_{key}".upper()] = str(value)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--records", type=int, default=25_000, help="calls per vendor")
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    args = parser.parse_args()

    meltano = meltano_executable()
    streams = {vendor.key: {s.name: s.primary_keys[0] for s in vendor.streams}
               for vendor in VENDORS if vendor.streams}
    if args.output.exists():
        shutil.rmtree(args.output)
    args.output.mkdir(parents=True)

    with SandboxProcess() as sandbox:
        config: dict = {}
        for vendor in streams:
            vendor_config = sandbox.configure_benchmark(vendor, args.records)
            config[vendor] = vendor_config[vendor]
            config["start_date"] = min(config.get("start_date", "9999"), vendor_config["start_date"])
            config["end_date"] = max(config.get("end_date", ""), vendor_config["end_date"])
        env = {
            **os.environ,
            **env_for(config),
            "TARGET_JSONL_DESTINATION_PATH": str(args.output),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        subprocess.run([meltano, "install"], cwd=ROOT, env=env, check=True)
        subprocess.run([meltano, "run", "--full-refresh", "tap-callrecords", "target-jsonl"],
                       cwd=ROOT, env=env, check=True)

    print(f"\n{'stream':<26} {'records':>9} {'unique keys':>12} {'expected':>9}")
    failures = 0
    for names in streams.values():
        for name, key in names.items():
            path = args.output / f"{name}.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            unique = len({row[key] for row in rows})
            ok = len(rows) == unique == args.records
            failures += not ok
            print(f"{name:<26} {len(rows):>9} {unique:>12} {args.records:>9} {'ok' if ok else 'MISMATCH'}")
    print(f"\nlanded in {args.output}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
