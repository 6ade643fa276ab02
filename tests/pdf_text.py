"""Just enough PDF reading for tests: page count and the text of ``(…) Tj`` strings.

reportlab writes a CID font's text as UCS-2 big-endian literal strings inside
``ASCII85Decode``+``FlateDecode`` content streams; decoding those is all a test needs to prove
that the Chinese title is text in the file, not a picture of it (pypdf is not a dependency).
"""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)endstream", re.S)
_SHOW = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page[^s]", pdf))


def texts(pdf: bytes) -> list[str]:
    """Every shown string of every content stream, decoded as UCS-2 (CID) or Latin-1."""
    out: list[str] = []
    for head, body in _STREAM.findall(pdf):
        data = body
        if b"ASCII85Decode" in head:
            data = base64.a85decode(data.strip(), adobe=True)
        if b"FlateDecode" in head:
            data = zlib.decompress(data)
        for raw in _SHOW.findall(data):
            string = _unescape(raw)
            try:
                out.append(
                    string.decode("utf-16-be") if len(string) % 2 == 0 else string.decode("latin-1")
                )
            except UnicodeDecodeError:
                out.append(string.decode("latin-1"))
    return out


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i : i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(nxt, nxt)
            i += 2
    return bytes(out)
