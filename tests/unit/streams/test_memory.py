import gc
import weakref

from streams import memory


def test_glibc_knobs_answer_on_this_machine() -> None:
    """The worker's machine kind runs glibc: both calls reach it (a no-op elsewhere)."""
    assert memory._libc() is not None
    assert memory.bound_arenas() is True


def test_a_settled_collector_still_frees_cycles_made_after_it() -> None:
    """What was alive is frozen out of the collector's sight; a cycle made later is still
    freed, and the young threshold is the one asked for."""
    before = gc.get_threshold()
    try:
        memory.settle_collector(1_000)
        frozen = gc.get_freeze_count()
        assert frozen > 1_000  # the test process's own modules, at least
        assert gc.get_threshold()[0] == 1_000

        class Node:
            peer: object

        node = Node()
        node.peer = node
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_faust_reads_ahead_what_the_settings_say() -> None:
    from config.settings import MemorySettings, Settings
    from streams.app import faust_config

    settings = Settings(_env_file=None, memory=MemorySettings(stream_buffer=256))
    assert faust_config(settings)["stream_buffer_maxsize"] == 256


def test_faust_fetches_per_partition_what_the_settings_say() -> None:
    """aiokafka keeps a whole fetch response while any partition's records in it are unread:
    the per-partition bound is what bounds that response (README "Memory")."""
    from config.settings import MemorySettings, Settings
    from streams.app import faust_config

    assert faust_config(Settings(_env_file=None))["consumer_max_fetch_size"] == 256 * 1024
    settings = Settings(_env_file=None, memory=MemorySettings(fetch_bytes=128 * 1024))
    assert faust_config(settings)["consumer_max_fetch_size"] == 128 * 1024


def test_the_producer_lingers_as_long_as_the_settings_say() -> None:
    """``producer_linger`` (s) is librdkafka's ``linger.ms`` for the worker's outputs and
    changelog (streams/producer.py): what batches small sends into fewer produce requests.
    Faust's own producer (the API's publishes, which wait for each acknowledgement, and the
    bench's Faust baselines) keeps Faust's default, no linger."""
    import faust

    from config.settings import Settings
    from streams.app import faust_config
    from streams.producer import WorkerProducer

    settings = Settings(_env_file=None, producer_linger=0.02)
    assert WorkerProducer(settings)._config["linger.ms"] == 20
    app = faust.App("linger-test", **faust_config(settings))
    assert app.producer.linger_ms == 0
