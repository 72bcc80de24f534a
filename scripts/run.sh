#!/usr/bin/env bash
# The README's run command: installs what is missing, starts virtual servers when the machine has no
# display or audio server, then runs `vjgan live` on the embedded default model with the demo track
# on loop. Extra arguments go to `vjgan live` (e.g. scripts/run.sh --headless --frames 300 --out frames/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
# shellcheck source=scripts/services.sh
source scripts/services.sh
trap vjgan_services_stop EXIT
.venv/bin/vjgan live --demo "$@"
