"""streams: the worker's wiring.

Importing it first defers the submodules of our libraries that the worker never uses
(streams/deferred_imports.py, issue #16: ~25 MiB of RSS before the first event).
"""

from streams import deferred_imports

deferred_imports.install()
