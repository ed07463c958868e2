#!/usr/bin/env bash
# Set up a virtual environment with everything role-matcher needs, on a fresh machine.
# Idempotent: re-running only installs what is missing.
# Usage: bash scripts/setup.sh [--dev] [--browser] [--ray]
#   (nothing)  what `matcher serve` needs          --dev      + the test tools (pytest, ruff, ...) and the eval extra
#   --browser  + Debian's Chromium (browser tests) --ray      + the optional Ray engine for `matcher score`
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Options first: a typo stops here, before anything is installed.
extras="" browser=""
for arg in "$@"; do
  case "$arg" in
    --dev) extras="$extras,dev" ;;
    --ray) extras="$extras,ray" ;;
    --browser) browser=1 ;;
    *) echo "setup: unknown option $arg (accepted: --dev, --browser, --ray)" >&2; exit 2 ;;
  esac
done
extras=${extras#,}
if [ ! -x .venv/bin/python ]; then
  # Debian/Ubuntu ship venv without ensurepip unless python3-venv is installed: say so, in one line.
  if ! "$PY" -c "import venv, ensurepip" 2>/dev/null; then
    echo "setup: $PY cannot make a virtual environment (no venv/ensurepip); install it: sudo apt-get install python3-venv" >&2
    exit 1
  fi
  "$PY" -m venv .venv
fi
VPIP=".venv/bin/python -m pip"
$VPIP install -q --upgrade pip
# torch first, pinned: this version resolves to the local CPU build; an unpinned torch (pulled in
# by sentence-transformers) could fetch a multi-GB CUDA build instead.
.venv/bin/python -c "import torch" 2>/dev/null || $VPIP install -q torch==2.13.0
if [ -n "$browser" ] && ! command -v chromium >/dev/null 2>&1; then
  # Debian's Chromium for the browser tests (never `playwright install`: no downloads here).
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else echo "setup: install Debian's chromium for the browser tests (sudo apt-get install chromium)" >&2; fi
fi
$VPIP install -q -e ".${extras:+[$extras]}"
# Build the default catalog's index and train its learned scorer now, so the first `matcher serve`
# is ready in seconds. The first time embeds the 2,780 labelled profiles (a few minutes on 2 cores);
# later runs reuse those vectors from .cache/ and only refit (seconds).
HF_HUB_OFFLINE=1 .venv/bin/matcher train >&2
echo "setup: ready (.venv)" >&2
