"""PDF input: a PDF generated from the seed text parses into the same paper; unreadable PDFs are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.ingest.corpus import BIB_FILE, render_corpus
from citeqa.ingest.paper import PAGE_NUMBER_RE, RUNNING_HEADER, PaperError, load_paper, parse_pdf

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian package fonts-wqy-microhei


def seed_pages(text: str) -> list[list[str]]:
    """The seed's lines grouped by PDF page: a page starts at a line with a leading space, or at the
    page-number / running-header lines that stand at its top."""
    pages: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        is_top = line == RUNNING_HEADER or bool(PAGE_NUMBER_RE.match(line))
        top_only = bool(pages) and all(x == RUNNING_HEADER or PAGE_NUMBER_RE.match(x) for x in pages[-1])
        if not pages or (raw.startswith(" ") and not top_only) or (is_top and not top_only):
            pages.append([])
        pages[-1].append(line)
    return pages


def write_pdf(pages: list[list[str]], path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(8, 8, 8)
    pdf.set_auto_page_break(False)
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=7)  # small enough that no seed line re-wraps
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(0, 3.4, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


@pytest.fixture(scope="module")
def seed_pdf(tmp_path_factory, seed_path) -> Path:
    if not FONT.is_file():
        pytest.skip(f"CJK font {FONT} missing: apt-get install fonts-wqy-microhei")
    pages = seed_pages(seed_path.read_text(encoding="utf-8"))
    assert len(pages) == 21
    path = tmp_path_factory.mktemp("pdf") / "seed.pdf"
    write_pdf(pages, path)
    return path


@pytest.fixture(scope="module")
def pdf_paper(seed_pdf):
    return load_paper(seed_pdf)


def test_seed_pages_for_the_pdf(seed_path):
    pages = seed_pages(seed_path.read_text(encoding="utf-8"))
    assert len(pages) == 21
    assert pages[5][:3] == ["55", RUNNING_HEADER, pages[5][2]]  # the "55" line tops PDF page 6
    assert pages[5][2].startswith("时加强监管力度")
    assert pages[0][0].startswith("〔提")


def test_pdf_page_count_and_printed_pages(pdf_paper, seed_paper):
    assert pdf_paper.page_count == seed_paper.page_count == 21
    assert pdf_paper.printed_pages == seed_paper.printed_pages == list(range(50, 71))
    assert pdf_paper.source == "seed.pdf"


def test_pdf_footnotes_match_the_text_path(pdf_paper, seed_paper):
    assert [(f.id, f.kind, f.printed_page) for f in pdf_paper.footnotes] == [
        (f.id, f.kind, f.printed_page) for f in seed_paper.footnotes
    ]
    assert "\u3000" not in "".join(f.text for f in pdf_paper.footnotes)
    differing = [f.id for f, g in zip(pdf_paper.footnotes, seed_paper.footnotes, strict=True) if f.text != g.text]
    assert len(differing) <= 2, differing
    note = pdf_paper.footnote("p8-fn1")
    assert note.kind == "note" and "62.5%" in note.text


def test_pdf_paragraphs_and_markers_match_the_text_path(pdf_paper, seed_paper):
    assert len(pdf_paper.paragraphs) == len(seed_paper.paragraphs)
    assert pdf_paper.sections == seed_paper.sections
    same = sum(p.text == q.text for p, q in zip(pdf_paper.paragraphs, seed_paper.paragraphs, strict=True))
    assert same >= 0.9 * len(seed_paper.paragraphs)
    for p, q in zip(pdf_paper.paragraphs, seed_paper.paragraphs, strict=True):
        assert (p.pages, p.section) == (q.pages, q.section), p.id
        assert [m.footnote_id for m in p.markers] == [m.footnote_id for m in q.markers], p.id
        for m in p.markers:
            assert p.page_at(m.offset - 1) == m.page
    footnote_ids = {f.id for f in pdf_paper.footnotes}
    cited = {m.footnote_id for p in pdf_paper.paragraphs for m in p.markers}
    assert cited == footnote_ids
    assert all(RUNNING_HEADER not in p.text for p in pdf_paper.paragraphs)


def test_pdf_bibliography_matches_the_text_path(pdf_paper, seed_paper):
    assert render_corpus(pdf_paper)[BIB_FILE] == render_corpus(seed_paper)[BIB_FILE]


def test_pdf_with_an_empty_user_password_opens(seed_pdf, tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(seed_pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "restricted.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    paper = load_paper(path)
    assert (paper.page_count, len(paper.footnotes)) == (21, 56)


def test_pdf_is_recognised_by_its_bytes_not_its_name(seed_pdf, tmp_path):
    renamed = tmp_path / "paper.txt"
    renamed.write_bytes(seed_pdf.read_bytes())
    assert load_paper(renamed).page_count == 21


def test_encrypted_pdf_is_a_paper_error(bad_pdfs):
    with pytest.raises(PaperError, match="encrypted") as info:
        load_paper(bad_pdfs["encrypted"])
    assert "\n" not in str(info.value)


def test_corrupt_pdf_is_a_paper_error(bad_pdfs):
    with pytest.raises(PaperError, match="cannot read PDF") as info:
        parse_pdf(bad_pdfs["corrupt"])
    assert "\n" not in str(info.value)


def test_pdf_header_with_garbage_is_a_paper_error(tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    with pytest.raises(PaperError, match=r"junk\.pdf"):
        load_paper(junk)


def test_pdf_without_footnotes_or_text(bad_pdfs, tmp_path):
    with pytest.raises(PaperError, match="no footnotes"):
        load_paper(bad_pdfs["plain"])
    from fpdf import FPDF

    blank = FPDF()
    blank.add_page()
    path = tmp_path / "blank.pdf"
    blank.output(str(path))
    with pytest.raises(PaperError, match="no extractable text"):
        load_paper(path)


def test_pypdf_warnings_do_not_leak(bad_pdfs, caplog, capfd):
    with pytest.raises(PaperError):
        load_paper(bad_pdfs["corrupt"])
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert capfd.readouterr().err == ""
