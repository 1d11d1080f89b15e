"""The Word zip written without compressing the template's parts again: the same members as
python-docx's own `save`, readable by python-docx and zipfile, and images stored as they are."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.shared import Cm

from flows.report.docx_package import docx_bytes
from tests.test_docx import report_for, tiny_png


def a_document() -> docx.document.Document:
    doc = docx.Document()
    doc.add_heading("Catering", 1)
    doc.add_paragraph("Een alinea met een tab\ten een regel\nverder.")
    doc.add_picture(io.BytesIO(tiny_png()), width=Cm(2))
    doc.sections[0].footer.paragraphs[0].add_run("voettekst")
    return doc


def members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None  # every CRC matches
        return [(info.filename, z.read(info)) for info in z.infolist()]


def test_the_same_members_in_the_same_order_as_python_docx_writes() -> None:
    doc = a_document()
    theirs = io.BytesIO()
    doc.save(theirs)
    assert members(docx_bytes(doc)) == members(theirs.getvalue())


def test_a_second_document_reuses_nothing_that_differs() -> None:
    """Parts are reused by content, never by name alone: a changed style must be written."""
    first = a_document()
    docx_bytes(first)
    second = a_document()
    second.styles["Normal"].font.size = Cm(0.5)
    ours = dict(members(docx_bytes(second)))
    theirs = io.BytesIO()
    second.save(theirs)
    assert ours == dict(members(theirs.getvalue()))


def test_images_are_stored_and_xml_is_deflated() -> None:
    with zipfile.ZipFile(io.BytesIO(docx_bytes(a_document()))) as z:
        methods = {info.filename: info.compress_type for info in z.infolist()}
    assert methods["word/media/image1.png"] == zipfile.ZIP_STORED
    assert methods["word/styles.xml"] == zipfile.ZIP_DEFLATED
    assert methods["[Content_Types].xml"] == zipfile.ZIP_DEFLATED


def test_a_summary_reads_back_after_another() -> None:
    from flows.report.docx_doc import report_docx

    report_docx(report_for("catering"), tiny_png())
    doc = docx.Document(io.BytesIO(report_docx(report_for("ict"), tiny_png())))
    assert doc.paragraphs[0].text == report_for("ict").title
    assert len(doc.inline_shapes) == 1
