#!/usr/bin/env bash
# The whole test suite: lint, format, types, unit, streams, integration (real Kafka, Redis,
# PostgreSQL started by the project's own scripts and stopped again, whatever happens).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

# Services this run started are stopped on exit; ones already running are left alone.
started=()
cleanup() {
  if [ ${#started[@]} -gt 0 ]; then
    riskloop dev down "${started[@]}" || true
  fi
}
trap cleanup EXIT INT TERM

echo "== ruff" && ruff check . && ruff format --check .
echo "== mypy" && mypy
echo "== unit + streams tests"
python -m pytest tests/unit tests/streams -q -p no:cacheprovider
echo "== doctests (the examples in docstrings are run, so they cannot rot)"
python -m pytest --doctest-modules loop rules schemas models geo sinks config bench infra streams console \
  --ignore=sinks/migrations -q -p no:cacheprovider

echo "== local services"
status=$(riskloop dev status 2>/dev/null || true)
for svc in kafka redis postgres; do
  if ! grep -qE "^$svc +healthy" <<<"$status"; then
    started+=("$svc")
  fi
done
riskloop dev up
echo "== browser (the console's tests drive Debian's headless chromium)"
python -c "from tests.integration.console_fixtures import chromedriver; print(chromedriver())"
echo "== integration tests"
python -m pytest tests/integration -q -p no:cacheprovider "$@"
