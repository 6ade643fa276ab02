#!/usr/bin/env bash
# Create the project's virtualenv (.venv) and install RiskLoop with its dev extras, once.
# Re-running is cheap: it reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "riskloop: error: python3 (3.11+) not found; install it with 'apt-get install -y python3 python3-venv'" >&2
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "riskloop: error: Python 3.11+ is needed, found $("$PY" --version 2>&1)" >&2
  exit 1
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "riskloop: error: $tool not found: the local Kafka broker needs Java 17 and Maven; install them with 'apt-get install -y openjdk-17-jre-headless maven'" >&2
    exit 1
  fi
done

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.riskloop-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
