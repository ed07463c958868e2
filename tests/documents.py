"""Real PDF and DOCX files built in memory for tests (no fixtures on disk, no PDF writer dependency)."""

from __future__ import annotations

import io


def pdf_bytes(lines: list[str]) -> bytes:
    """A minimal one-page PDF with these lines of extractable text; with no lines it has no text at
    all, like a scanned page."""
    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = ("BT /F1 11 Tf 72 740 Td 14 TL " + " ".join(f"({esc(x)}) Tj T*" for x in lines) + " ET") if lines else ""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
               "/Contents 4 0 R >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def docx_bytes(blocks: list[str | list[list[str]]]) -> bytes:
    """A Word document with one block per item, in order: a string is a paragraph, a list of rows
    (each a list of cell texts) is a table."""
    import docx

    document = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            document.add_paragraph(block)
            continue
        table = document.add_table(rows=len(block), cols=max(len(row) for row in block))
        for table_row, texts in zip(table.rows, block, strict=True):
            for cell, text in zip(table_row.cells, texts, strict=False):  # a short row leaves its last cells empty
                cell.text = text
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_bomb(inflated_mb: int = 200, claimed: int | None = 1000) -> bytes:
    """A DOCX whose ``word/document.xml`` inflates to about ``inflated_mb`` MB while its zip headers
    (local and central) claim ``claimed`` bytes (``None``: the true size, an honest bomb) — what a
    size check that trusts the zip directory lets through. Built by hand: no zip writer forges sizes."""
    import struct
    import zipfile
    import zlib

    with zipfile.ZipFile(io.BytesIO(docx_bytes(["A real first paragraph."]))) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out, central = io.BytesIO(), bytearray()
    megabyte = b" " * (1024 * 1024)
    for filename, raw in members:
        deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as a zip member holds it
        if filename == "word/document.xml":
            payload = deflate.compress(raw[:300]) + b"".join(deflate.compress(megabyte) for _ in range(inflated_mb))
            crc = zlib.crc32(raw[:300])
            for _ in range(inflated_mb):
                crc = zlib.crc32(megabyte, crc)
            size = 300 + inflated_mb * len(megabyte) if claimed is None else claimed
        else:
            payload, crc, size = deflate.compress(raw), zlib.crc32(raw), len(raw)
        payload += deflate.flush()
        name, offset = filename.encode(), out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(payload), size, len(name), 0))
        out.write(name + payload)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(payload), size,
                               len(name), 0, 0, 0, 0, 0, offset) + name
    start = out.tell()
    out.write(bytes(central))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0))
    return out.getvalue()


def flate_bomb_pdf(inflated_mb: int = 200) -> bytes:
    """A small PDF whose one content stream inflates to about ``inflated_mb`` MB."""
    import zlib

    deflate = zlib.compressobj(9)
    stream = deflate.compress(b"BT /F1 11 Tf 72 740 Td (Hello) Tj ET\n")
    stream += b"".join(deflate.compress(b" " * (1024 * 1024)) for _ in range(inflated_mb)) + deflate.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def aes_encrypted_pdf(lines: list[str]) -> bytes:
    """A PDF encrypted with AES-256 (needs ``cryptography``, a test dependency)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(lines))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
