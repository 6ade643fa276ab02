"""The hostile corpus (issue #15): records any sender could write, each with the reason it must be
dead-lettered for. Used offline by tests/unit/schemas/test_hostile_corpus.py and through a real
worker by tests/integration/test_hostile_corpus.py."""
