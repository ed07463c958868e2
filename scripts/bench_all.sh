#!/usr/bin/env bash
# Every speed number in the README, in one command (about 10 minutes on 2 cores). Run it on a quiet
# machine: the numbers are wall-clock times.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
echo "== match() and embed() per backend (scripts/bench.py)"
$PY scripts/bench.py --repeats 30
echo; echo "== the same, on a dense 40-sentence résumé (about the size the speed target was set on)"
$PY scripts/bench.py --repeats 30 --file examples/resume-40-dense.txt
echo; echo "== HTTP (scripts/bench_http.py), 1 worker"
$PY scripts/bench_http.py --requests 500 --concurrency 1,4,16
echo; echo "== HTTP, 2 workers"
$PY scripts/bench_http.py --requests 300 --concurrency 4,16 --workers 2
echo; echo "== batch scoring, torch fp32 (scripts/bench_score.py)"
MATCHER_BACKEND=torch $PY scripts/bench_score.py --candidates 1000
echo; echo "== batch scoring, openvino-int8 (default)"
$PY scripts/bench_score.py --candidates 1000
