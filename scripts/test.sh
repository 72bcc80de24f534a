#!/usr/bin/env bash
# The README's test command: installs what is missing, starts virtual X and audio servers, then runs
# ruff and the whole pytest suite. Extra arguments go to pytest (e.g. scripts/test.sh -k osc).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
# shellcheck source=scripts/services.sh
source scripts/services.sh
trap vjgan_services_stop EXIT
export TORCHINDUCTOR_CACHE_DIR="$ROOT/.cache/inductor"
.venv/bin/ruff check vjgan tests scripts
.venv/bin/lint-imports  # stages meet only in vjgan.app: the contracts in pyproject.toml
.venv/bin/python -m pytest "$@"
