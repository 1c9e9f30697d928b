"""Reading a multipart upload into memory, with a byte cap, never onto disk."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import FormParser, parse_options_header

from gluebench.server.errors import Invalid, TooLarge

MAX_FIELDS = 20
MAX_BOUNDARY = 70  # RFC 2046: a multipart boundary is 1 to 70 characters


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


async def read_multipart(request: Request, cap: int) -> Upload:
    """The form fields and files of a ``multipart/form-data`` request of at most ``cap`` bytes."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid(["expected a multipart/form-data request with a boundary"])
    if len(boundary) > MAX_BOUNDARY:
        raise Invalid([f"multipart boundary of {len(boundary)} characters; at most "
                       f"{MAX_BOUNDARY} (RFC 2046)"])
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > cap):
        raise TooLarge(f"request too large: the limit is {cap} bytes")
    upload = Upload()

    def on_field(f) -> None:
        _store(upload.fields, f.field_name, (f.value or b"").decode("utf-8", "replace"))

    def on_file(f) -> None:
        f.file_object.seek(0)
        _store(upload.files, f.field_name, f.file_object.read())

    config = {"MAX_MEMORY_FILE_SIZE": cap + 1, "MAX_BODY_SIZE": cap + 1}
    received = 0
    try:
        parser = FormParser("multipart/form-data", on_field, on_file, boundary=boundary,
                            config=config)
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap:
                raise TooLarge(f"request too large: the limit is {cap} bytes")
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        raise Invalid([f"malformed multipart body ({type(exc).__name__})"]) from None
    return upload


def _store(target: dict, name: bytes | None, value) -> None:
    key = (name or b"").decode("utf-8", "replace")
    if key in target or len(target) >= MAX_FIELDS:
        raise Invalid([f"field '{key[:40]}' given twice, or too many fields"])
    target[key] = value
