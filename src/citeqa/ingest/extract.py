"""Fetched bytes -> readable text cut into segments, each with a locator a citation can point to.

HTML -> trafilatura's main text ("section 2 “Wage trends”, para 5", "… table 1", "… figure 1"),
PDF -> pypdf per page ("p. 12", using the PDF's own page labels when it has them), plain text -> "para N".
The declared content type is only a hint: servers mislabel PDFs as text/html and pages as octet-stream,
so the bytes are sniffed first.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import charset_normalizer
import lxml
import lxml.etree
import lxml.html
import pypdf
import trafilatura

Kind = Literal["html", "pdf", "text"]
TEXT_EXTRACTOR_VERSION = "1"
_HEADING_MAX = 60


class ExtractError(ValueError):
    """The document is empty, unreadable or has no text; the message is one line for the user."""


class Segment(NamedTuple):
    locator: str
    text: str


@dataclass
class Extracted:
    kind: Kind
    title: str
    segments: list[Segment]
    extractor: str
    extractor_version: str
    charset: str = ""  # the codec used to decode (HTML/text); "" for PDF
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(segment.text for segment in self.segments)


# --------------------------------------------------------------------------- sniffing

_HTML_START_RE = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b",
    re.IGNORECASE | re.DOTALL,
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _bom_codec(body: bytes) -> str | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    return None


def _looks_binary(body: bytes) -> bool:
    if _bom_codec(body) in ("utf-16",):
        return False
    sample = body[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return b"\x00" in sample or controls > len(sample) * 0.05


def sniff_kind(body: bytes, content_type: str = "") -> Kind | None:
    """What the bytes are, trusting them over the declared type; None when neither says."""
    if b"%PDF-" in body[:1024]:
        return "pdf"
    head = body[:2048]
    codec = _bom_codec(head)
    if codec == "utf-16":
        head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    elif codec:
        head = head[len(codecs.BOM_UTF8) :]
    if _HTML_START_RE.match(head):
        return "html"
    mime = _mime(content_type)
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "application/pdf":
        return None  # declared PDF without a PDF signature: refuse rather than guess
    if mime.startswith("text/") or mime in ("", "application/octet-stream", "application/json"):
        return None if _looks_binary(body) else "text"
    return None


# --------------------------------------------------------------------------- decoding

_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# GB2312/GBK pages routinely contain characters only GB18030 (their superset) defines: decode them all as GB18030.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "cp936": "gb18030",
    "chinese": "gb18030",
    "iso-8859-1": "cp1252",  # as browsers do: "latin-1" pages are really windows-1252
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}
_LATIN_DEFAULTS = {"cp1252"}


def charset_codec(label: str) -> str | None:
    """Python codec for a charset label from a header or <meta>, or None if unknown."""
    label = label.strip().strip("'\"").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _header_charset(content_type: str) -> str | None:
    match = _CHARSET_RE.search(content_type)
    return charset_codec(match.group(1)) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET_RE.search(body[:8192])
    if not match:
        return None
    codec = charset_codec(match.group(1).decode("ascii", "replace"))
    # a byte stream that parsed as ASCII cannot really be UTF-16, whatever the meta says (WHATWG rule)
    return "utf-8" if codec and codec.startswith("utf-16") else codec


def decode(body: bytes, content_type: str = "", *, html: bool = False) -> tuple[str, str]:
    """Decode to str; returns (text, codec). Order: BOM, header charset, <meta> (HTML), charset-normalizer."""
    candidates: list[str] = []
    bom = _bom_codec(body)
    if bom:
        candidates.append(bom)
    header = _header_charset(content_type)
    meta = _meta_charset(body) if html else None
    if header and meta and header in _LATIN_DEFAULTS and meta != header:
        # "charset=ISO-8859-1" is a common server default; the page's own declaration knows better
        candidates.append(meta)
    candidates += [c for c in (header, meta) if c]
    for codec in dict.fromkeys(candidates):
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue  # a declaration the bytes contradict: try the next source
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        codec = charset_codec(best.encoding) or best.encoding
        try:
            return body.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            return str(best), best.encoding
    codec = candidates[0] if candidates else "utf-8"
    return body.decode(codec, "replace"), codec


# --------------------------------------------------------------------------- HTML


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Locators:
    """Numbers paragraphs, tables and figures across the page and prefixes the current section heading."""

    def __init__(self) -> None:
        self.section = 0
        self.heading = ""
        self.counts = {"para": 0, "table": 0, "figure": 0}
        self.segments: list[Segment] = []

    def head(self, text: str) -> None:
        self.section += 1
        self.heading = text if len(text) <= _HEADING_MAX else text[: _HEADING_MAX - 1] + "…"

    def add(self, what: str, text: str) -> None:
        if not text:
            return
        self.counts[what] += 1
        where = f"{what} {self.counts[what]}"
        if self.section:
            where = f"section {self.section} “{self.heading}”, {where}"
        self.segments.append(Segment(where, text))


def _parse_html(text: str) -> lxml.html.HtmlElement:
    # lxml refuses str input that carries an XML encoding declaration; the text is already decoded
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    return lxml.html.document_fromstring(text)


def _title(doc: lxml.html.HtmlElement) -> str:
    for xpath in ("//title", "//meta[@property='og:title']/@content", "//h1"):
        found = doc.xpath(xpath)
        if found:
            value = found[0] if isinstance(found[0], str) else found[0].text_content()
            if _clean(value):
                return _clean(value)
    return ""


def _trafilatura_segments(doc: lxml.html.HtmlElement, url: str) -> list[Segment]:
    # trafilatura drops <figure> and <figcaption> unless it keeps images; captions carry a figure's numbers
    # (which may contradict the prose), so make them plain paragraphs and label them "figure N" afterwards
    captions = set()
    for caption in doc.iter("figcaption"):
        captions.add(_clean(caption.text_content()))
        caption.tag = "p"
    for figure in doc.iter("figure"):
        figure.tag = "div"
    xml = trafilatura.extract(
        lxml.html.tostring(doc, encoding="unicode"),
        url=url or None,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        favor_recall=True,  # a citation checker would rather see too much of the page than miss the figure
        with_metadata=False,
        deduplicate=False,
    )
    if not xml:
        return []
    root = lxml.etree.fromstring(xml.encode("utf-8"))
    main = root.find("main")
    if main is None:
        return []
    out = _Locators()
    for element in main:
        tag = element.tag
        if tag == "head":
            out.head(_clean("".join(element.itertext())))
        elif tag == "list":
            for item in element.iter("item"):
                # nested lists: take only the item's own text, the inner items come up in iter() themselves
                out.add("para", _clean("".join(_own_text(item))))
        elif tag == "table":
            rows = []
            for row in element.iter("row"):
                cells = [_clean("".join(cell.itertext())) for cell in row.iter("cell")]
                if any(cells):
                    rows.append(" | ".join(cells))
            out.add("table", "\n".join(rows))
        elif tag == "graphic":
            continue
        else:
            text = _clean("".join(element.itertext()))
            out.add("figure" if text in captions else "para", text)
    return out.segments


def _own_text(item: lxml.etree._Element) -> list[str]:
    parts = [item.text or ""]
    for child in item:
        if child.tag != "list":
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return parts


_BLOCKS = {"p", "li", "pre", "blockquote", "figcaption", "dd", "dt", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"}


def _lxml_segments(doc: lxml.html.HtmlElement) -> list[Segment]:
    """Fallback when trafilatura finds no main text (tiny or oddly built pages): every leaf block, in order."""
    for bad in doc.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    body = doc.find("body")
    if body is None:
        body = doc
    out = _Locators()
    blocks = [el for el in body.iter() if el.tag in _BLOCKS and not any(d.tag in _BLOCKS for d in el.iterdescendants())]
    for block in blocks:
        text = _clean(block.text_content())
        if block.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            out.head(text)
        else:
            out.add("figure" if block.tag == "figcaption" else "para", text)
    if not out.segments:
        for line in body.text_content().splitlines():
            out.add("para", _clean(line))
    return out.segments


def _extract_html(body: bytes, content_type: str, url: str) -> Extracted:
    text, codec = decode(body, content_type, html=True)
    try:
        doc = _parse_html(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"unreadable HTML ({exc})") from None
    title = _title(doc)
    segments = _trafilatura_segments(doc, url)
    extractor, version = "trafilatura", trafilatura.__version__
    if not segments:
        segments = _lxml_segments(_parse_html(text))
        extractor, version = "lxml", lxml.__version__
    if not segments:
        raise ExtractError("no readable text in the HTML page")
    return Extracted("html", title, segments, extractor, version, codec)


# --------------------------------------------------------------------------- PDF and plain text


def _extract_pdf(body: bytes) -> Extracted:
    warnings: list[str] = []
    # pypdf raises many exception types on hostile or broken files; any of them means "unreadable"
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractError("the PDF is encrypted with a password")
        pages = list(reader.pages)
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractError(f"unreadable PDF ({type(exc).__name__}: {_clean(str(exc))[:120]})") from None
    try:
        labels = list(reader.page_labels)  # the printed page numbers citations use, "1".."n" when undefined
    except Exception:
        labels = []
    if len(labels) != len(pages):
        labels = [str(i + 1) for i in range(len(pages))]
    segments: list[Segment] = []
    for label, page in zip(labels, pages, strict=True):
        try:
            text = page.extract_text() or ""
        except Exception as exc:
            warnings.append(f"p. {label}: text not extractable ({type(exc).__name__})")
            continue
        # pypdf renders justified text with runs of spaces; keep the line breaks, collapse the runs
        text = "\n".join(re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.replace("\x00", "").splitlines())
        text = text.strip()
        if text:
            segments.append(Segment(f"p. {label}", text))
    if not segments:
        raise ExtractError(f"the PDF has no extractable text ({len(pages)} pages; scanned images?)")
    title = ""
    with contextlib.suppress(Exception):  # a broken info dictionary only costs the title
        title = _clean(str(reader.metadata.title)) if reader.metadata and reader.metadata.title else ""
    return Extracted("pdf", title, segments, "pypdf", pypdf.__version__, "", warnings)


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _join_lines(lines: list[str]) -> str:
    """Undo hard wrapping: Chinese lines join without a space, others with one."""
    out = ""
    for line in (ln.strip() for ln in lines):
        if not line:
            continue
        if out and not (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += " "
        out += line
    return out


def _extract_text(body: bytes, content_type: str) -> Extracted:
    text, codec = decode(body, content_type)
    paragraphs = [_join_lines(block.splitlines()) for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    segments = [Segment(f"para {i}", p) for i, p in enumerate((p for p in paragraphs if p), start=1)]
    if not segments:
        raise ExtractError("the text document is blank")
    title = segments[0].text if len(segments[0].text) <= 200 else ""
    return Extracted("text", title, segments, "citeqa-text", TEXT_EXTRACTOR_VERSION, codec)


def extract(body: bytes, content_type: str = "", url: str = "") -> Extracted:
    """Text with locators from a fetched or user-added document; raises ExtractError when there is none."""
    if not body:
        raise ExtractError("empty document (0 bytes)")
    kind = sniff_kind(body, content_type)
    mime = _mime(content_type) or "no content type"
    if kind is None:
        if mime == "application/pdf":
            raise ExtractError(f"declared application/pdf but the bytes are not a PDF (they start {body[:16]!r})")
        raise ExtractError(f"unsupported document type ({mime}, {len(body):,} bytes of binary data)")
    if kind == "pdf":
        result = _extract_pdf(body)
    elif kind == "html":
        result = _extract_html(body, content_type, url)
    else:
        result = _extract_text(body, content_type)
    declared = {"pdf": "pdf", "html": "html", "xhtml+xml": "html"}.get(mime.rsplit("/", 1)[-1], "text")
    if mime != "no content type" and declared != kind:
        result.warnings.append(f"declared {mime} but the bytes are {kind}")
    return result


__all__ = ["ExtractError", "Extracted", "Segment", "charset_codec", "decode", "extract", "sniff_kind"]
