"""gluebench: the GLUE benchmark, scored exactly as the official platform scores it."""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
