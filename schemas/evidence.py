"""Evidence files by reference: what a disposition carries instead of the bytes, and what is
taken at all.

A disposition travels on Kafka and into the audit trail; a 5 MB photo must not. The file is
kept once in the evidence store (``sinks/evidence.py``), named by its SHA-256, and the
disposition carries ``sha256:<hex>/<file name>``: the hash proves later that the file shown is
the one the department sent, the name is what a person recognises. A reference to something
else (a URL, a document number) is still a plain string, as before.

What is taken is decided on the bytes, never on the name or the browser's claimed type: a JPEG,
PNG or WebP photo or a PDF, recognised by its signature. Everything else — an executable (ELF,
PE ``MZ``, Mach-O, a ``#!`` script), an HTML page, an archive — is refused with a message that
says what is taken.

>>> ref = EvidenceRef(sha256="ab" * 32, filename="现场照片.jpg")
>>> str(ref)[:13], EvidenceRef.parse(str(ref)) == ref
('sha256:ababab', True)
>>> EvidenceRef.parse("photo:1.jpg") is None
True
>>> media_type(b"%PDF-1.7 ...")
'application/pdf'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from schemas.errors import RiskLoopError

PREFIX = "sha256:"
EVIDENCE_FILES_MAX = 5
"""Files one disposal may upload (the API takes 20 references; a disposal needs a few photos)."""
FILENAME_MAX = 120
"""Characters of a file name kept: the reference fits the API's 512-character limit."""
_HEX = re.compile(r"[0-9a-f]{64}")

SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"WEBP", 8, "image/webp", ".webp"),  # after "RIFF" and the length
    (b"%PDF-", 0, "application/pdf", ".pdf"),
)
"""(signature, offset, media type, usual extension) of the kinds of file taken as evidence."""
ACCEPTED = "JPEG, PNG or WebP photos and PDF documents"

_EXECUTABLE = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"#!", "a script"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java executable"),
)


class EvidenceRefused(RiskLoopError):
    """A file the evidence store does not take; the message says why and what is taken."""


@dataclass(frozen=True)
class EvidenceRef:
    """A stored file as a disposition names it: its SHA-256 and the name it was sent with."""

    sha256: str
    filename: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.sha256}/{self.filename}"

    @classmethod
    def parse(cls, reference: str) -> EvidenceRef | None:
        """The stored file a reference names; None for any other reference (a URL, an id)."""
        if not reference.startswith(PREFIX):
            return None
        digest, _, name = reference[len(PREFIX) :].partition("/")
        if not _HEX.fullmatch(digest):
            return None
        return cls(digest, name or digest[:12])


def media_type(head: bytes) -> str | None:
    """The media type of a file taken as evidence, from its first bytes; None if not one."""
    for signature, offset, kind, _ in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            if kind == "image/webp" and not head.startswith(b"RIFF"):
                continue
            return kind
    return None


def check(filename: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """(clean file name, media type) of a file the store may take; EvidenceRefused if not.

    >>> check("../../etc/passwd", b"root:x:0:0", 1024)
    Traceback (most recent call last):
    ...
    schemas.evidence.EvidenceRefused: passwd is not a file evidence may be: only JPEG, PNG or WebP photos and PDF documents
    """
    name = clean_filename(filename)
    if not data:
        raise EvidenceRefused(f"{name} is empty")
    if len(data) > max_bytes:
        raise EvidenceRefused(
            f"{name} is {len(data):,} bytes; evidence files may be at most {max_bytes:,}"
        )
    for signature, what in _EXECUTABLE:
        if data.startswith(signature):
            raise EvidenceRefused(f"{name} is {what}; executable files are never taken")
    kind = media_type(data[:16])
    if kind is None:
        raise EvidenceRefused(f"{name} is not a file evidence may be: only {ACCEPTED}")
    return name, kind


def clean_filename(filename: str) -> str:
    """The name a person sees: its last path part, printable, at most FILENAME_MAX characters.

    >>> clean_filename("C:\\\\fakepath\\\\整改\\x00报告.pdf"), clean_filename("   ")
    ('整改报告.pdf', 'file')
    """
    last = re.split(r"[\\\\/]", filename)[-1]
    printable = "".join(c for c in last if unicodedata.category(c)[0] != "C").strip()
    return printable.lstrip(".")[:FILENAME_MAX] or "file"
