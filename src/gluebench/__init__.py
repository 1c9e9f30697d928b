"""gluebench: the GLUE benchmark, scored exactly as the official platform scores it."""

__version__ = "0.1.0"
SCHEMA_VERSION = 1

_API = ("evaluate", "score", "Results")


def __getattr__(name: str):
    """``gluebench.evaluate``, ``gluebench.score`` and ``gluebench.Results``, imported on first
    use so that ``import gluebench`` stays light (``gluebench.api`` loads numpy and more)."""
    if name in _API:
        from gluebench import api

        return getattr(api, name)
    raise AttributeError(f"module 'gluebench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
