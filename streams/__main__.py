"""``python -m streams`` is the same as ``riskloop``."""

from streams.cli import main

main()
