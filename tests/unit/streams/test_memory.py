from streams import memory


def test_glibc_knobs_answer_on_this_machine() -> None:
    """The worker's machine kind runs glibc: both calls reach it (a no-op elsewhere)."""
    assert memory._libc() is not None
    assert memory.bound_arenas() is True
