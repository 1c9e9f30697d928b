"""Reading an untrusted zip without believing it: bounded members, each problem one line.

A submission zip comes from a user or an upload, so nothing its headers declare is
trusted. The central directory's size is checked before ``zipfile`` reads it (a
million tiny entries would otherwise fill memory), each member is streamed with a
byte cap the caller derives from what the file may hold, and the ratio of unpacked
to packed bytes is capped, so a zip bomb stops after its first megabyte or so.
Every refusal is a ``ZipProblem`` whose message is one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

# A GLUE submission has 11 files; a few extra (a README) are reported, thousands are refused.
MAX_MEMBERS = 100
MAX_DIRECTORY_BYTES = 1 << 20   # the central directory: room for thousands of names
MAX_RATIO = 100                 # unpacked / packed bytes; real prediction files are about 4
RATIO_FLOOR = 1 << 20           # below this many unpacked bytes any ratio is fine
CHUNK = 1 << 16                 # bytes asked of the decompressor at a time
SHOWN_CHARS = 80                # at most this much of a member name is quoted

SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
METHOD_NAMES = {9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard", 95: "xz",
                97: "wavpack", 98: "ppmd", 99: "AES encryption"}
# What the zipfile module raises on malformed archives (each seen on fuzzed input).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
              NotImplementedError, RuntimeError, struct.error, OverflowError, zlib.error)

_EOCD = struct.Struct("<4s4H2LH")          # end of central directory record (22 bytes)
_ZIP64_LOCATOR, _ZIP64_RECORD = 20, 56     # sizes of the zip64 end records


class ZipProblem(Exception):
    """A reason, in one line, why an archive or a member of it cannot be used."""


def shown_name(name: str) -> str:
    """A member name fit for a one-line message: escaped, at most ~80 characters."""
    head = name[:SHOWN_CHARS]
    if not head.isprintable():
        head = head.encode("unicode_escape").decode("ascii")[:SHOWN_CHARS]
    return head + ("..." if len(name) > SHOWN_CHARS else "")


@contextlib.contextmanager
def open_archive(source: bytes | str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    """The archive in ``source`` (its bytes, or a path), checked before zipfile parses it.

    Raises ``ZipProblem``: not found, not a zip, a directory too large or with too many
    members, an empty archive, or a structure zipfile cannot read.
    """
    with _binary(source) as fp:
        entries, directory_bytes = _directory_extent(fp)
        if entries > MAX_MEMBERS or directory_bytes > MAX_DIRECTORY_BYTES:
            raise ZipProblem(f"{entries} members ({directory_bytes} bytes of names); a GLUE "
                             f"submission has 11 files (at most {MAX_MEMBERS} are examined)")
        try:
            fp.seek(0)
            archive = zipfile.ZipFile(fp)
        except ZIP_ERRORS as exc:
            raise ZipProblem(f"not a readable zip file ({_brief(exc)})") from None
        with archive:
            infos = archive.infolist()
            if not infos:
                raise ZipProblem("empty zip (no files in it); expected the 11 GLUE files")
            if len(infos) > MAX_MEMBERS:
                raise ZipProblem(f"{len(infos)} members; a GLUE submission has 11 files "
                                 f"(at most {MAX_MEMBERS} are examined)")
            yield archive


@contextlib.contextmanager
def _binary(source: bytes | str | os.PathLike) -> Iterator[io.BufferedIOBase]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source)
        return
    path = Path(source)
    if not path.exists():
        raise ZipProblem("file not found")
    if not path.is_file():
        raise ZipProblem("not a file (a folder?); expected a .zip file")
    try:
        fp = path.open("rb")
    except OSError as exc:
        raise ZipProblem(f"cannot be read ({exc.strerror})") from None
    with fp:
        yield fp


def _directory_extent(fp) -> tuple[int, int]:
    """(member count, central-directory bytes) from the end records, zip64 included."""
    size = fp.seek(0, os.SEEK_END)
    start = max(0, size - _EOCD.size - 0xFFFF)  # the record may be followed by a comment
    fp.seek(start)
    tail = fp.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        raise ZipProblem("not a zip file (no end-of-archive record: not a zip, or truncated)")
    entries, directory_bytes = _EOCD.unpack_from(tail, at)[4:6]
    if entries == 0xFFFF or directory_bytes == 0xFFFFFFFF:  # zip64: the real counts are earlier
        record_at = start + at - _ZIP64_LOCATOR - _ZIP64_RECORD
        if record_at >= 0:
            fp.seek(record_at)
            record = fp.read(_ZIP64_RECORD)
            if record[:4] == b"PK\x06\x06":
                entries, directory_bytes = struct.unpack_from("<QQ", record, 32)
    return entries, directory_bytes


def name_problem(name: str) -> str | None:
    """Why a member name cannot be extracted safely where it says, if it cannot."""
    parts = re.split(r"[/\\]", name)
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "has an absolute path; the server expects plain file names at the top level"
    if ".." in parts:
        return "has a '..' path (it would unpack outside the folder); use plain file names"
    if name.endswith(("/", "\\")):
        return "is a folder; the server expects the 11 files at the top level, no folders"
    return None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member cannot be read at all (encrypted, unsupported compression), if so."""
    if info.flag_bits & 0x1:
        return "encrypted (password-protected); zip it again without a password"
    if info.compress_type not in SUPPORTED_METHODS:
        method = METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return (f"compressed with {method}, which is not supported; zip it again with "
                "the standard deflate method (`zip`, or Python's ZIP_DEFLATED)")
    return None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, streamed, never more than ``limit`` of them.

    The declared sizes are not trusted: what counts is what the decompressor yields.
    Raises ``ZipProblem`` when the data are corrupt or truncated (CRC included), when
    they unpack to more than ``limit`` bytes, or beyond ``MAX_RATIO`` times their
    packed size.
    """
    ratio_limit = max(RATIO_FLOOR, MAX_RATIO * info.compress_size)
    data = io.BytesIO()
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                data.write(chunk)
                if data.tell() > limit:
                    raise ZipProblem(f"unpacks to more than {limit} bytes, more than the "
                                     "file can hold; stopped reading (a zip bomb?)")
                if data.tell() > ratio_limit:
                    raise ZipProblem(f"unpacks to over {MAX_RATIO} times its packed size "
                                     f"({info.compress_size} bytes); stopped reading "
                                     "(a zip bomb?)")
    except ZIP_ERRORS as exc:
        raise ZipProblem(f"corrupt or truncated data ({_brief(exc)})") from None
    if data.tell() != info.file_size:
        raise ZipProblem(f"corrupt: the zip declares {info.file_size} bytes but the data "
                         f"unpack to {data.tell()}")
    return data.getvalue()


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:SHOWN_CHARS] + ("..." if len(text) > SHOWN_CHARS else "")
