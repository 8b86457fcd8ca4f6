"""The warehouse leaves nothing behind: a failed listing removes its part, a killed writer's
staged files go at the next write, and a writer that must wait says so."""

from __future__ import annotations

import subprocess
import sys
import time

import pyarrow as pa
import pytest

from conftest import warehouse_state, write_csv

HEADER = "transaction_id,customer_id,timestamp,amount\n"


def _crash(*args, **kwargs):
    raise OSError("disk full")


def test_a_failed_listing_removes_the_part_it_moved(ws, tmp_path, monkeypatch):
    ws.import_file("transactions", write_csv(tmp_path / "a.csv", HEADER + "t1,c,2024-01-05,1\n"))
    before = warehouse_state(ws)  # the manifest and every stored file
    monkeypatch.setattr(ws.warehouse, "_write_manifest", _crash)
    with pytest.raises(OSError, match="disk full"):
        ws.import_file("transactions", write_csv(tmp_path / "b.csv",
                                                 HEADER + "t2,c,2024-01-06,1\n"))
    with pytest.raises(OSError, match="disk full"):
        ws.save_result("clv_scores", pa.table({"customer_id": ["c"]}))
    assert warehouse_state(ws) == before
    assert list(ws.warehouse.scratch_dir.glob("*.parquet")) == []


def test_staged_files_of_a_killed_writer_are_removed_at_the_next_write(ws, tmp_path):
    stale = [ws.warehouse.scratch_dir / "staged-transactions-123.parquet",
             ws.warehouse.scratch_dir / "result-clv_scores-abc.parquet"]
    for path in stale:
        path.write_bytes(b"left by a killed import")
    spill = ws.warehouse.scratch_dir / "duckdb_temp_storage-0.tmp"  # not ours: kept
    spill.write_bytes(b"")
    ws.import_file("transactions", write_csv(tmp_path / "a.csv", HEADER + "t1,c,2024-01-05,1\n"))
    assert [p.exists() for p in stale] == [False, False]
    assert spill.exists()


def test_a_writer_that_must_wait_says_so(ws):
    (ws.path / ".cvm").mkdir(exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         "fh = open(sys.argv[1], 'a+'); fcntl.flock(fh, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); time.sleep(1.5)\n",
         str(ws.path / ".cvm" / "lock")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    told = []
    start = time.monotonic()
    with ws.warehouse.write_lock(on_wait=lambda: told.append(time.monotonic() - start)):
        waited = time.monotonic() - start
    holder.wait()
    assert len(told) == 1 and told[0] < 0.5  # said at once, then waited for the holder
    assert waited > 0.5
    told.clear()
    with ws.warehouse.write_lock(on_wait=lambda: told.append(1)):
        pass
    assert told == []  # free: nothing to say
