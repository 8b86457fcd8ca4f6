"""The DuckDB engine answers queries from several threads at once (page views in the
server's thread pool) correctly, one query at a time."""

from __future__ import annotations

import threading

import ibis

from conftest import write_csv


def _queries(ws, n: int) -> list[tuple]:
    t = ws.table("transactions")
    out = []
    for k in range(n):  # a fresh expression each time, some with a memtable joined
        m = ibis.memtable({"customer_id": [f"c{k % 7}"], "w": [k]})
        j = t.inner_join(m, "customer_id")
        out.append((int(t.filter(t.amount > k % 5).count().execute()),
                    float(t.amount.sum().execute()),
                    int(j.count().to_pyarrow().as_py())))
    return out


def test_threads_share_one_duckdb_connection(ws, tmp_path):
    rows = "\n".join(f"T{i},c{i % 7},2024-01-{1 + i % 28:02d},{i % 9}" for i in range(700))
    ws.import_file("transactions", write_csv(
        tmp_path / "t.csv", "transaction_id,customer_id,timestamp,amount\n" + rows + "\n"))
    want = _queries(ws, 12)
    # by hand: amounts i % 9 over i < 700; each of c0..c6 has 100 rows
    assert want[0] == (sum(1 for i in range(700) if i % 9 > 0),
                       float(sum(i % 9 for i in range(700))), 100)
    got, errors = {}, []

    def work(k):
        try:
            got[k] = _queries(ws, 12)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(got[k] == want for k in range(6))
