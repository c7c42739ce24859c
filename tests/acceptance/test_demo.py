"""Acceptance: `ga4sync demo` on a machine with nothing configured."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest


@pytest.mark.smoke
def test_demo_reaches_a_first_sync_and_prints_what_it_promises(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "TEST_DATABASE"))
    }
    env["GA4SYNC_EMBEDDED_PG_DIR"] = str(tmp_path / "pg")
    command = [sys.executable, "-m", "ga4sync.cli", "demo", "--once", "--port", "0"]
    outputs = []
    for _ in range(2):  # cold, then warm on the same data
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout)
    cold, warm = outputs
    base = re.search(r"web \+ worker on (http://127\.0\.0\.1:\d+)", cold)
    assert base, cold
    assert f"Status page  {base.group(1)}/#token=ey" in cold
    assert f'curl -X POST {base.group(1)}/v1/sync/ga4/run -H "Authorization: Bearer ey' in cold
    assert "tables ga4_daily_totals, ga4_traffic_sources, ga4_pages, ga4_property_runs" in cold
    assert re.search(r"First sync success [\d.]+s after start: Synced 4/4 properties", cold)
    first = re.search(r"([\d,]+) written \(([\d,]+) new", cold)
    assert first and first.group(1) == first.group(2) and first.group(1) != "0", cold
    assert "from ga4_daily_totals t join ga4_properties p" in cold
    # The second run finds today's daily run done and syncs again by hand: nothing rewritten.
    assert "First sync (manual run) started" in warm
    # Only the dates that are not settled yet are read again, and come back unchanged.
    again = re.search(r" 0 written .*?([\d,]+) unchanged", warm)
    assert again, warm
    assert 0 < int(again.group(1).replace(",", "")) < int(first.group(1).replace(",", ""))
