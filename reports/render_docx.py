"""The report as a Word document laid out as Nghị định 30/2020/NĐ-CP, Phụ lục I requires."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from reports.document import INDICATOR_HEADERS, Block, Para, ParaKind, Part, Report, Slot

FONT = "Times New Roman"
BODY_PT = 14
AGENCY_PT = 13
NUMBER_PT = 13
NATIONAL_PT = 12
MOTTO_PT = 13
TABLE_PT = 12
RECIPIENTS_HEAD_PT = 12
RECIPIENTS_PT = 11
FIRST_LINE_INDENT = Cm(1.27)
# A4 portrait; margins within the decree's ranges (top/bottom 20–25, left 30–35, right 15–20 mm).
PAGE = (Mm(210), Mm(297))
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH_MM = 210 - 30 - 15
HEADER_COLUMNS_MM = (65, TEXT_WIDTH_MM - 65)
SIGNATURE_COLUMNS_MM = (85, TEXT_WIDTH_MM - 85)
INDICATOR_COLUMNS_MM = (12, 60, 18, 19, 19, 18, 19)
CELL_MARGIN_MM = 1.0


def _fonts(run_or_style_rpr: BaseOxmlElement) -> None:
    """Name Times New Roman for every script, so no viewer falls back to another face."""
    fonts = run_or_style_rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        run_or_style_rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _run(
    paragraph: Paragraph,
    text: str,
    size: float,
    *,
    bold: bool = False,
    italic: bool = False,
) -> None:
    """Plain text runs; line breaks in the text become breaks, never markup."""
    for i, line in enumerate(text.split("\n")):
        run = paragraph.add_run(line)
        run.font.name = FONT
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.italic = italic
        _fonts(run._element.get_or_add_rPr())
        if i < len(text.split("\n")) - 1:
            run.add_break()


def _paragraph(
    container: DocxDocument | _Cell,
    text: str = "",
    size: float = BODY_PT,
    *,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.CENTER,
    indent: bool = False,
    space_after: float = 0,
) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(space_after)
    fmt.first_line_indent = FIRST_LINE_INDENT if indent else Cm(0)
    if text:
        _run(paragraph, text, size, bold=bold, italic=italic)
    return paragraph


def _rule(container: DocxDocument | _Cell, width_mm: float, space_mm: float) -> None:
    """The short solid line under an agency name, the motto or the summary line.

    An empty paragraph a few points high with a bottom border: the line sits just below the
    text above it without touching it.
    """
    paragraph = container.add_paragraph()
    side = max((space_mm - width_mm) / 2, 0)
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent = Mm(side), Mm(side)
    fmt.first_line_indent = Cm(0)
    fmt.space_before = fmt.space_after = Pt(0)
    props = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "0"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    props.append(borders)
    # The empty paragraph's height is its mark's font size: keep it small.
    mark = OxmlElement("w:rPr")
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "6")
    mark.append(size)
    props.append(mark)


def _no_borders(table: Table) -> None:
    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.append(borders)


def _widths(table: Table, widths_mm: tuple[float, ...]) -> None:
    """Fixed column widths, in the grid (LibreOffice reads it) and in every cell (Word does)."""
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _layout_table(doc: DocxDocument, rows: int, widths_mm: tuple[float, ...]) -> Table:
    """A borderless table that only places blocks side by side."""
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _widths(table, widths_mm)
    for row in table.rows:
        for cell in row.cells:
            cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
    return table


def _header(doc: DocxDocument, report: Report) -> None:
    """Agency and number at left, national title, motto and place-date at right (2 × 2)."""
    left_mm, right_mm = HEADER_COLUMNS_MM
    table = _layout_table(doc, 2, HEADER_COLUMNS_MM)
    agency, national = table.cell(0, 0), table.cell(0, 1)
    if report.governing_body:
        _paragraph(agency, report.governing_body, AGENCY_PT)
    for line in report.agency_lines:
        _paragraph(agency, line, AGENCY_PT, bold=True)
    _rule(agency, 22, left_mm)
    _paragraph(national, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", NATIONAL_PT, bold=True)
    _paragraph(national, "Độc lập - Tự do - Hạnh phúc", MOTTO_PT, bold=True)
    _rule(national, 62, right_mm)
    number, place = table.cell(1, 0), table.cell(1, 1)
    _paragraph(number, report.number_line, NUMBER_PT).paragraph_format.space_before = Pt(6)
    _paragraph(place, report.place_date, BODY_PT, italic=True).paragraph_format.space_before = Pt(6)


def _title(doc: DocxDocument, report: Report) -> None:
    _paragraph(doc, report.title, BODY_PT, bold=True).paragraph_format.space_before = Pt(18)
    _paragraph(doc, report.summary, BODY_PT, bold=True)
    _rule(doc, 40, TEXT_WIDTH_MM)
    _paragraph(doc, "", BODY_PT)


def _indicator_table(doc: DocxDocument, report: Report) -> None:
    table = doc.add_table(rows=1, cols=len(INDICATOR_HEADERS))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Narrow cell margins so short words ("lao động") stay on one line.
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(round(CELL_MARGIN_MM / 25.4 * 1440)))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.append(margins)
    header = table.rows[0]
    # Repeat the heading row on every page the table runs over.
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for cell, text in zip(header.cells, INDICATOR_HEADERS, strict=True):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], text, TABLE_PT, bold=True)
    for row in report.indicator_rows:
        cells = table.add_row().cells
        values = (
            row.stt,
            row.name,
            row.unit_of_measure,
            row.goal,
            row.period,
            row.to_date,
            row.percent,
        )
        for i, (cell, text) in enumerate(zip(cells, values, strict=True)):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT if i == 1 else WD_ALIGN_PARAGRAPH.CENTER
            _run(paragraph, text, TABLE_PT)
    _widths(table, INDICATOR_COLUMNS_MM)


def _block(doc: DocxDocument, block: Block, report: Report, chart_png: bytes | None) -> None:
    if isinstance(block, Part):
        bold = block.level <= 2
        italic = block.level == 3
        heading = _paragraph(
            doc,
            block.heading,
            BODY_PT,
            bold=bold,
            italic=italic,
            align=WD_ALIGN_PARAGRAPH.JUSTIFY,
            indent=True,
            space_after=6,
        )
        heading.paragraph_format.keep_with_next = True
        for child in block.blocks:
            _block(doc, child, report, chart_png)
    elif isinstance(block, Slot):
        if block.name == "indicator_table":
            _indicator_table(doc, report)
        elif block.name == "chart" and chart_png:
            paragraph = _paragraph(doc, space_after=6)
            paragraph.add_run().add_picture(io.BytesIO(chart_png), width=Mm(150))
    elif isinstance(block, Para):
        italic = block.kind in (ParaKind.NOTE, ParaKind.PLACEHOLDER)
        paragraph = _paragraph(
            doc,
            block.display,
            BODY_PT,
            italic=italic,
            align=WD_ALIGN_PARAGRAPH.JUSTIFY,
            indent=True,
            space_after=6,
        )
        if block.kind is ParaKind.NOTE:
            paragraph.paragraph_format.space_before = Pt(4)  # air after a table


def _signature(doc: DocxDocument, report: Report) -> None:
    """Nơi nhận at left, the signer's authority, title and name at right."""
    table = _layout_table(doc, 1, SIGNATURE_COLUMNS_MM)
    # The block never splits over two pages.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    recipients, signer = table.cell(0, 0), table.cell(0, 1)
    _paragraph(
        recipients,
        "Nơi nhận:",
        RECIPIENTS_HEAD_PT,
        bold=True,
        italic=True,
        align=WD_ALIGN_PARAGRAPH.LEFT,
    )
    for entry in report.distribution:
        _paragraph(recipients, entry, RECIPIENTS_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    for line in report.signer_title_lines:
        _paragraph(signer, line, BODY_PT, bold=True)
    for _ in range(4):  # room for the signature and the seal
        _paragraph(signer, "", BODY_PT)
    _paragraph(signer, report.signer_name, BODY_PT, bold=True)


def _page_numbers(section: Section) -> None:
    """The page number centred in the top margin from page 2 (Nghị định 30, Phụ lục I): the
    first page's header stays empty, the others carry a PAGE field Word and LibreOffice fill."""
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False  # its own, empty header
    section.header_distance = Mm(10)
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    run.font.name = FONT
    run.font.size = Pt(BODY_PT)
    _fonts(run._element.get_or_add_rPr())
    # A complex field: begin, the instruction, separate, the value shown before an update, end.
    parts = [("w:fldChar", "begin"), ("w:instrText", " PAGE "), ("w:fldChar", "separate")]
    parts += [("w:t", "2"), ("w:fldChar", "end")]
    for tag, value in parts:
        element = OxmlElement(tag)
        if tag == "w:fldChar":
            element.set(qn("w:fldCharType"), value)
        else:
            element.set(qn("xml:space"), "preserve")
            element.text = value
        run._element.append(element)


def render_docx(report: Report, chart_png: bytes | None) -> bytes:
    """The report as DOCX bytes."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE
    section.top_margin = MARGINS["top"]
    section.bottom_margin = MARGINS["bottom"]
    section.left_margin = MARGINS["left"]
    section.right_margin = MARGINS["right"]
    _page_numbers(section)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    rpr = normal.element.get_or_add_rPr()
    _fonts(rpr)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    rpr.append(lang)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    props = doc.core_properties
    props.title = f"{report.title} {report.summary}"
    props.author = "dondoc"
    props.language = "vi-VN"
    # The template's first empty paragraph would push the header down a line.
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)

    _header(doc, report)
    _title(doc, report)
    for block in report.body:
        _block(doc, block, report, chart_png)
    _paragraph(doc, "", BODY_PT)
    _signature(doc, report)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
