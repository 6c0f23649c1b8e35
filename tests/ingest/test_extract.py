"""extract(): bytes -> text segments with locators, for the fixture works in tests/fixtures/sources (all invented)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from fpdf import FPDF

from citeqa.ingest import extract as extract_mod
from citeqa.ingest.extract import ExtractError, charset_codec, decode, extract, sniff_kind

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

PDF_PAGES = (
    "第一页：虚构的东湖产业研究所估计，二〇二三年新建工厂投资达到四百二十亿美元。",
    "第二页：The invented subsidy programme covered 30 percent of equipment costs for chip-packaging plants.",
)


@functools.cache  # fpdf2 subsets the CJK font: build each PDF once
def make_pdf(pages: tuple[str, ...], *, title: str = "虚构制造业白皮书", label_start: int | None = None) -> bytes:
    pdf = FPDF()
    pdf.add_font("wqy", fname=FONT)
    pdf.set_font("wqy", size=12)
    pdf.set_title(title)
    for i, text in enumerate(pages):
        pdf.add_page()
        if label_start is not None and i == 0:
            pdf.set_page_label(label_style="D", label_start=label_start)
        if text:
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --------------------------------------------------------------------------- HTML


def test_english_page_main_text_with_section_locators():
    got = extract(read("factory_jobs.html"), "text/html; charset=utf-8", "http://example.test/outlook")
    assert got.kind == "html"
    assert got.title == "Ohio Valley Factory Jobs Outlook 2023"
    assert got.extractor == "trafilatura" and got.extractor_version
    assert got.charset == "utf-8"
    by_text = {s.text: s.locator for s in got.segments}
    money = next(t for t in by_text if "38.5 billion dollars" in t)
    assert by_text[money] == "section 2 “Where the money went”, para 2"
    wages = next(t for t in by_text if "27.40 dollars" in t)  # a list item is a paragraph of its section
    assert by_text[wages].startswith("section 3 “Labour constraints”")
    locators = [s.locator for s in got.segments]
    assert len(set(locators)) == len(locators)  # every locator names exactly one segment
    assert "About the Fictional Institute" not in got.text  # navigation is boilerplate, not main text


def test_gbk_page_declared_gb2312_in_meta_decodes_as_gb18030():
    body = read("zh_gbk.html")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")  # the fixture really uses a character outside GB2312 (镕)
    got = extract(body, "text/html")  # no charset in the header: the <meta> decides
    assert got.charset == "gb18030"
    assert got.title == "中西部制造业回流观察（虚构）"
    assert "\ufffd" not in got.text
    assert any("镕铸厂" in s.text and "四万八千" in s.text for s in got.segments)
    assert [s.locator for s in got.segments][:3] == [
        "section 1 “一、总体情况”, para 1",
        "section 1 “一、总体情况”, para 2",
        "section 2 “二、制约因素”, para 3",
    ]


def test_header_charset_that_the_bytes_contradict_falls_through_to_meta():
    got = extract(read("zh_gbk.html"), "text/html; charset=utf-8")
    assert got.charset == "gb18030"
    assert "百分之十五" in got.text


def test_undeclared_charset_is_detected():
    body = read("zh_gbk.html").replace(b'<meta charset="gb2312">', b"")
    text, codec = decode(body, "text/html", html=True)
    assert codec == "gb18030"
    assert "熟练技工短缺" in text


def test_charset_aliases():
    assert charset_codec("GB2312") == charset_codec("gbk") == "gb18030"
    assert charset_codec("ISO-8859-1") == "cp1252"
    assert charset_codec("no-such-charset") is None


def test_figure_that_contradicts_the_prose_is_its_own_segment():
    got = extract(read("figure_contradiction.html"), "text/html")
    claim = [s for s in got.segments if "rose by 12 percent" in s.text]
    figure = [s for s in got.segments if "Figure 2" in s.text]
    table = [s for s in got.segments if "table" in s.locator]
    assert len(claim) == len(figure) == len(table) == 1
    assert claim[0].locator.endswith("para 1")
    assert figure[0].locator.endswith("figure 1") and "down 4 percent" in figure[0].text
    assert table[0].text.splitlines() == ["Year | Steel-mill jobs", "2019 | 25,000", "2022 | 24,000"]


def test_fallback_to_lxml_when_trafilatura_finds_nothing(monkeypatch):
    monkeypatch.setattr(extract_mod.trafilatura, "extract", lambda *a, **k: None)
    got = extract(read("factory_jobs.html"), "text/html")
    assert got.extractor == "lxml"
    assert any("412 new manufacturing projects" in s.text for s in got.segments)
    assert any(s.locator.startswith("section 3 “Labour constraints”") for s in got.segments)


def test_xhtml_with_xml_declaration_and_bom():
    body = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>'
        b"<html><head><title>Tariff note</title></head><body><p>Duties on imported transformers rose to "
        b"25 percent in the invented schedule.</p></body></html>"
    )
    got = extract(body, "application/octet-stream")
    assert got.kind == "html" and got.title == "Tariff note"
    assert "25 percent" in got.text


# --------------------------------------------------------------------------- PDF and text


def test_cjk_pdf_two_pages():
    got = extract(make_pdf(PDF_PAGES), "application/pdf")
    assert got.kind == "pdf" and got.extractor == "pypdf"
    assert got.title == "虚构制造业白皮书"
    assert [s.locator for s in got.segments] == ["p. 1", "p. 2"]
    assert "四百二十亿美元" in got.segments[0].text
    assert "30 percent of equipment costs" in got.segments[1].text


def test_pdf_locators_use_printed_page_labels():
    got = extract(make_pdf(PDF_PAGES, label_start=55), "application/pdf")
    assert [s.locator for s in got.segments] == ["p. 55", "p. 56"]


def test_wrong_content_type_is_sniffed():
    pdf = extract(make_pdf(PDF_PAGES), "text/html; charset=utf-8")
    assert pdf.kind == "pdf" and "四百二十亿美元" in pdf.text
    assert pdf.warnings == ["declared text/html but the bytes are pdf"]
    html = extract(read("factory_jobs.html"), "text/plain")
    assert html.kind == "html" and html.title.startswith("Ohio Valley")
    assert sniff_kind(read("notes.txt"), "application/octet-stream") == "text"


def test_plain_text_paragraphs_unwrapped():
    got = extract(read("notes.txt"), "text/plain; charset=utf-8")
    assert got.kind == "text" and got.charset == "utf-8"
    assert [s.locator for s in got.segments] == ["para 1", "para 2", "para 3"]
    assert "moved its motor-winding line back from overseas in 2022" in got.segments[1].text  # space-joined
    assert got.segments[2].text == "虚构工厂的负责人表示，回流后的生产线每月可以组装一万二千台电机。"  # no space


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "text/html", "empty document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image/png", "unsupported document type (image/png"),
        (b"Access denied", "application/pdf", "not a PDF"),
        (b"%PDF-1.4\n1 0 obj garbage", "application/pdf", "PDF"),
        (b"<html><body><script>var x = 1;</script></body></html>", "text/html", "no readable text"),
        (b"\n\n  \n", "text/plain", "blank"),
    ],
)
def test_unreadable_documents_raise_one_line_errors(body, content_type, message):
    with pytest.raises(ExtractError) as info:
        extract(body, content_type)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_pdf_without_text_layer():
    with pytest.raises(ExtractError, match="no extractable text"):
        extract(make_pdf(("", "")), "application/pdf")
