"""The package's version and the schema version of every JSON document it writes (a leaf
module: everything may import it; the root package re-exports both)."""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
