"""Text out of files: type from content, clear errors, bounded work."""

import io
import zipfile

import pytest

from matcher.errors import InputError, UnsupportedFileType
from matcher.extract import MAX_DOCX_UNCOMPRESSED, extract_text, sniff
from matcher.inputs import check_text


def make_pdf(text: str) -> bytes:
    """A minimal one-page PDF with real, extractable text (built by hand: no writer dependency)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def make_docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_pdf_docx_and_text_are_read():
    assert "Owned the fraud model roadmap" in extract_text(make_pdf("Owned the fraud model roadmap"), "cv.pdf")
    assert extract_text(make_docx(["Built dbt models", "Ran SLA reviews"]), "cv.docx").splitlines() == \
        ["Built dbt models", "Ran SLA reviews"]
    assert extract_text("Plain résumé text".encode(), "cv.txt") == "Plain résumé text"


def test_type_comes_from_content_not_name():
    assert sniff(make_pdf("x")) == "pdf" and sniff(make_docx(["x"])) == "docx"
    # A PDF renamed .txt is still read as a PDF; a text file named .pdf is refused.
    assert "hello world" in extract_text(make_pdf("hello world"), "renamed.txt")
    with pytest.raises(UnsupportedFileType, match=r"named \.pdf"):
        extract_text(b"just text", "cv.pdf")
    with pytest.raises(UnsupportedFileType):
        extract_text(b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png")


def test_empty_broken_and_scanned_files():
    with pytest.raises(InputError, match="empty"):
        extract_text(b"", "cv.txt")
    with pytest.raises(InputError, match="could not be read as a PDF"):
        extract_text(b"%PDF-1.4\n garbage", "cv.pdf")
    with pytest.raises(InputError, match="no text could be extracted"):
        extract_text(make_pdf(""), "scan.pdf")
    with pytest.raises(InputError, match="UTF-8"):
        extract_text("café".encode("latin-1") + b" and more", "cv.txt")


def test_docx_zip_bomb_is_refused_before_inflating():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<w:document/>")
        zf.writestr("word/bomb.bin", b"\0" * (MAX_DOCX_UNCOMPRESSED + 1))
    with pytest.raises(InputError, match="would expand"):
        extract_text(buf.getvalue(), "cv.docx")


def test_lone_surrogates_are_refused():
    with pytest.raises(InputError, match="invalid Unicode"):
        check_text("abc \ud800 def", 1000)
