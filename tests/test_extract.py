"""Text out of files: type from content, clear errors, bounded work."""

import io
import zipfile

import pytest

from matcher.errors import InputError, UnsupportedFileType
from matcher.extract import MAX_DOCX_UNCOMPRESSED, extract_text, sniff
from matcher.text import check_text
from tests.documents import docx_bytes, pdf_bytes


def test_pdf_docx_and_text_are_read():
    assert "Owned the fraud model roadmap" in extract_text(pdf_bytes(["Owned the fraud model roadmap"]), "cv.pdf")
    assert extract_text(docx_bytes(["Built dbt models", "Ran SLA reviews"]), "cv.docx").splitlines() == \
        ["Built dbt models", "Ran SLA reviews"]
    assert extract_text("Plain résumé text".encode(), "cv.txt") == "Plain résumé text"


def test_docx_tables_keep_their_place_between_paragraphs():
    # Headings decide how the lines after them are read, so a table must not drift to the end.
    data = docx_bytes(["Experience", [["Python", "SQL"], ["dbt models", "Airflow DAGs"]], "Hobbies", "Chess"])
    assert extract_text(data, "cv.docx").splitlines() == \
        ["Experience", "Python | SQL", "dbt models | Airflow DAGs", "Hobbies", "Chess"]


def test_type_comes_from_content_not_name():
    assert sniff(pdf_bytes(["x"])) == "pdf" and sniff(docx_bytes(["x"])) == "docx"
    # A PDF renamed .txt is still read as a PDF; a text file named .pdf is refused.
    assert "hello world" in extract_text(pdf_bytes(["hello world"]), "renamed.txt")
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
        extract_text(pdf_bytes([]), "scan.pdf")
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
