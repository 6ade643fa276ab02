"""streams: the worker's wiring.

Importing it first defers the modules of our libraries that the worker never uses
(streams/deferred_imports.py, issue #16: ~65 MiB of RSS before the first event, scipy.stats
included).
"""

from streams import deferred_imports

deferred_imports.install()
