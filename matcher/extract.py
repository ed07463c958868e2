"""Text out of résumé files: PDF (pypdf), DOCX (python-docx), plain text and Markdown.

The type is decided from the content (magic bytes), not only the name, so a renamed file is read
for what it is and a file that claims to be one thing but is another is refused.
"""

from __future__ import annotations

import io
import zipfile

from .errors import InputError, InputTooLarge, UnsupportedFileType
from .text import ACCEPTED, decode_bytes

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
# A DOCX is a zip: a "zip bomb" of a few KB can expand to gigabytes. Every member is inflated under
# a running byte budget before python-docx sees it; the sizes the zip directory *claims* are never
# trusted (they can be forged). python-docx keeps every part in memory and parses the XML ones into
# trees several times their size, hence the tighter bound on XML.
MAX_DOCX_UNCOMPRESSED = 24 * 1024 * 1024
MAX_DOCX_XML = 4 * 1024 * 1024  # a long real résumé's document.xml is well under 1 MB
# The most a single PDF stream may inflate to (pypdf's own default is 75 MB per stream).
MAX_PDF_STREAM = 8 * 1024 * 1024
# Stop pulling text out of a PDF once this much is collected; the caller's text limit refuses it.
MAX_EXTRACT_CHARS = 200_000


def sniff(data: bytes) -> str:
    """``pdf``, ``docx``, ``text`` or ``unknown`` from the first bytes of a file."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return "unknown"
        return "unknown"
    head = data[:4096]
    if b"\x00" in head:
        return "unknown"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 4 KiB boundary is still text.
        if exc.start < len(head) - 4:
            return "unknown"
    return "text"


def extract_text(data: bytes, filename: str = "") -> str:
    """Return the text of a résumé file; raise a clear :class:`InputError` when there is none."""
    name = filename.lower()
    kind = sniff(data)
    if not data:
        raise InputError(f"{filename or 'file'} is empty; send {ACCEPTED}", code="empty_input")
    claimed = "pdf" if name.endswith(".pdf") else "docx" if name.endswith(".docx") else \
        "text" if name.endswith(TEXT_SUFFIXES) or "." not in name else "other"
    if kind == "unknown":
        raise UnsupportedFileType(f"{filename or 'file'} is not a PDF, DOCX or UTF-8 text file; send {ACCEPTED}")
    if claimed == "other" and kind == "text":
        raise UnsupportedFileType(f"{filename}: unsupported file type; send {ACCEPTED}")
    if claimed in ("pdf", "docx") and kind != claimed:
        raise UnsupportedFileType(f"{filename} is named .{claimed} but its content is {kind}; send {ACCEPTED}")
    if kind == "pdf":
        text = _pdf_text(data, filename)
    elif kind == "docx":
        text = _docx_text(data, filename)
    else:
        text = decode_bytes(data, filename or "file")
    if not text.strip():
        what = "a scanned (image-only) PDF or an empty document" if kind == "pdf" else "an empty document"
        raise InputError(f"no text could be extracted from {filename or 'the file'} (it looks like {what}); "
                         "send a file with selectable text, or paste the text", code="no_text")
    return text


def _pdf_text(data: bytes, filename: str, limit: int = MAX_EXTRACT_CHARS) -> str:
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    encrypted = InputError(f"{filename or 'PDF'} is password-protected or encrypted; send an unlocked copy "
                           "or paste the text", code="encrypted_pdf")
    budget = {k: MAX_PDF_STREAM for k in ("zlib_maximum_output_length", "lzw_maximum_output_length",
                                          "run_length_maximum_output_length", "brotli_maximum_output_length",
                                          "array_based_stream_maximum_output_length", "image_maximum_buffer_size",
                                          "jbig2_maximum_output_length")}
    try:
        with apply_configuration(**budget):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise encrypted
            parts, size = [], 0
            for page in reader.pages:
                parts.append(page.extract_text() or "")
                size += len(parts[-1])
                if size > limit:  # enough to know it is over any sensible limit; stop paying for the rest
                    break
        return "\n".join(parts)
    except InputError:
        raise
    except (FileNotDecryptedError, DependencyError):  # AES needs `cryptography`; either way: locked
        raise encrypted from None
    except LimitReachedError:
        raise InputTooLarge(f"{filename or 'PDF'} inflates past the {MAX_PDF_STREAM // (1024 * 1024)} MB limit "
                            "for one PDF stream (a compression bomb or a huge embedded object); "
                            "export the résumé again as a plain PDF or paste the text") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise InputError(f"{filename or 'PDF'} could not be read as a PDF ({type(exc).__name__}); "
                         "export it again or paste the text", code="bad_pdf") from None


def _check_docx_inflation(data: bytes, filename: str) -> None:
    """Inflate every member under a running byte budget; raise as soon as it is spent.

    Reads in 64 KB steps, so a bomb costs at most the budget in time and almost nothing in memory,
    whatever sizes its zip directory declares.
    """
    too_large = InputTooLarge(f"{filename or 'DOCX'} would expand past the limit for a document "
                              f"({MAX_DOCX_UNCOMPRESSED // (1024 * 1024)} MB in all, "
                              f"{MAX_DOCX_XML // (1024 * 1024)} MB for one XML part); "
                              "send a smaller file or paste the text")
    total = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in zf.infolist():
                part_limit = MAX_DOCX_XML if info.filename.endswith((".xml", ".rels")) else MAX_DOCX_UNCOMPRESSED
                part = 0
                with zf.open(info) as member:
                    while chunk := member.read(64 * 1024):
                        part += len(chunk)
                        total += len(chunk)
                        if part > part_limit or total > MAX_DOCX_UNCOMPRESSED:
                            raise too_large
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
            RuntimeError, ValueError) as exc:  # bad CRC, unknown compression, encrypted member...
        raise InputError(f"{filename or 'DOCX'} could not be read as a Word document ({type(exc).__name__}); "
                         "save it again or paste the text", code="bad_docx") from None


def _docx_text(data: bytes, filename: str) -> str:
    import docx
    from docx.table import Table

    _check_docx_inflation(data, filename)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises assorted errors for broken packages
        raise InputError(f"{filename or 'DOCX'} could not be read as a Word document ({type(exc).__name__}); "
                         "save it again or paste the text", code="bad_docx") from None
    # Paragraphs and tables in document order (python-docx >= 1.1): segmenting reads headings, and a
    # table moved after every paragraph would fall under the last one ("Hobbies": dropped as noise,
    # "Objective": read as what the person wants) instead of the section it sits in.
    parts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            parts.extend(" | ".join(cell.text for cell in row.cells) for row in block.rows)
        else:
            parts.append(block.text)
    return "\n".join(parts)
