"""The worker's HTTP API: read views over tables and the SQL store, audited writes to Kafka.

It runs in the worker process as Faust web views, so reads see exactly the state the agents
hold (profiles through Faust's table routing) and a write is one record on the same control or
dispositions topic the CLI uses: the API adds no second way for state to change. The contract
is ``openapi.yaml`` beside this file, served at ``/openapi.json``.
"""

from __future__ import annotations

from streams.api.views import register

__all__ = ["register"]
