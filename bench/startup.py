"""Startup benchmark: `ga4sync demo` from launch to its first successful sync.

    python -m bench.startup [--runs 3]

Cold: a fresh data directory (initdb, migrations, first load). Warm: the same
directory again (Postgres restarts on existing data, rows are re-read and left
unchanged). Baselines measured in the same run: the interpreter importing
ga4sync, and the embedded Postgres starting and stopping on its own.
Targets: cold < 10 s, warm < 4 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, result.stdout


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["GA4SYNC_EMBEDDED_PG_DIR"] = str(data_dir)
    return env


def main(runs: int) -> None:
    demo = [sys.executable, "-m", "ga4sync.cli", "demo", "--once", "--port", "0", "--json"]
    imports = [sys.executable, "-c", "import ga4sync.demo, ga4sync.cli"]
    postgres = [
        sys.executable,
        "-c",
        "import sys; from pathlib import Path; from ga4sync.embedded import embedded_postgres\n"
        "with embedded_postgres(Path(sys.argv[1])): pass",
    ]
    rows: dict[str, list[float]] = {
        k: []
        for k in (
            "python + import ga4sync",
            "embedded Postgres alone, cold",
            "embedded Postgres alone, warm",
            "ga4sync demo, cold",
            "ga4sync demo, warm",
        )
    }
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            rows["python + import ga4sync"].append(_timed(imports, _env(Path(tmp)))[0])
            pg_dir = Path(tmp) / "pg-alone"
            rows["embedded Postgres alone, cold"].append(
                _timed([*postgres, str(pg_dir)], _env(pg_dir))[0]
            )
            rows["embedded Postgres alone, warm"].append(
                _timed([*postgres, str(pg_dir)], _env(pg_dir))[0]
            )
            data = Path(tmp) / "demo"
            for label in ("ga4sync demo, cold", "ga4sync demo, warm"):
                seconds, out = _timed(demo, _env(data))
                outcome = json.loads(out.strip().splitlines()[-1])
                assert outcome["status"] == "success", outcome
                rows[label].append(seconds)
    floor = statistics.median(rows["python + import ga4sync"])
    print(f"\nmedian of {runs} runs; launch to exit after the first successful sync\n")
    print(f"{'what':34} {'seconds':>8} {'x import':>9}")
    for label, values in rows.items():
        median = statistics.median(values)
        print(f"{label:34} {median:>8.2f} {median / floor:>9.1f}")
    cold, warm = (statistics.median(rows[k]) for k in ("ga4sync demo, cold", "ga4sync demo, warm"))
    print(
        f"\ntargets: cold < 10 s ({'met' if cold < 10 else 'MISSED'}), "
        f"warm < 4 s ({'met' if warm < 4 else 'MISSED'})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    main(parser.parse_args().runs)
