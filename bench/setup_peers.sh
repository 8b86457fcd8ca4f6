#!/usr/bin/env bash
# Make the peers' environments the benchmarks compare against, each in a venv of its own
# (they pin versions of pandas/numpy that cvm does not use). Run once per machine:
#   bash bench/setup_peers.sh            # then pass the printed --*-python options
set -euo pipefail
make() {  # make NAME PACKAGES...
  local dir="/tmp/$1"; shift
  [ -x "$dir/bin/python" ] || python -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
}
make bench-venv 'lifetimes==0.11.3' 'pandas==2.2.3' pyarrow     # foundation and CLV benches
make pymc-venv 'pymc-marketing==0.19.2'                         # CLV bench (MAP fit)
make plspm-venv 'plspm==0.5.7' 'pandas==2.1.4' 'numpy==1.26.4'  # PLS bench
# programme bench: the HTTP load generator (C), from Debian's packages
command -v wrk >/dev/null || apt-get install -y -q wrk || echo "install wrk for bench/programme_bench.py"
cat <<'TXT'
bench/bench_foundation.py --lifetimes-python /tmp/bench-venv/bin/python
bench/clv_bench.py --lifetimes-python /tmp/bench-venv/bin/python --pymc-python /tmp/pymc-venv/bin/python
bench/pls_bench.py --plspm-python /tmp/plspm-venv/bin/python
bench/programme_bench.py --members 1000000 --keep-large big1m   # needs wrk
TXT
