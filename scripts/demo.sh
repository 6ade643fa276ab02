#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, then `riskloop demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/riskloop demo "$@"
