"""The Gradio app: chat with footnote citations, citation lookup (with claim-check verdicts), the cited works'
local copies (Sources tab: state per work, a one-work fetch), and an "About this corpus" panel.

Two layers:
- *view functions* live in ``citeqa.app.views`` (pure: data in, escaped HTML out).
- ``ChatService`` holds the loaded ``Assistant`` and turns UI events into view-function calls; it never raises
  to Gradio (errors are logged server-side, users see one friendly line). ``build_app`` wires it into Blocks.

The Assistant is read-only after loading. Calls into it are serialized by a lock by default (``serialize=True``):
requests take milliseconds, the machine has two cores, and the embedders' native code is not documented as
thread-safe; benchmarks/load_chat.py measures the queue with 100 simultaneous users (docs/benchmarks.md).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from citeqa.app.turnlog import TurnClock, TurnLog
from citeqa.app.views import (
    GENERIC_ERROR,
    esc,
    footnote_records,
    render_about,
    render_answer,
    render_error,
    render_footnote_list,
    render_lookup,
    render_source_list,
    render_source_states,
    render_streaming,
    render_user,
    source_state_counts,
)
from citeqa.index.backends import BackendError
from citeqa.qa.answer import QuestionError, clean_question
from citeqa.qa.followup import Condensed, condense
from citeqa.settings import Settings

log = logging.getLogger("citeqa.app.ui")

EXAMPLES: tuple[str, ...] = (
    "what local-content threshold does USMCA set",
    "How much did the CHIPS and Science Act allocate to the manufacturing incentives program?",
    "What constrains the reshoring of US manufacturing?",
    "《通胀削减法》对购买新能源汽车提供多少补贴？",
    "美国制造业回流面临哪些制约因素？",
    "拜登政府如何加强“买美国货”规定？",
)
MAX_TURNS = 30  # chat history kept per session (older turns drop off the top)
CONCURRENCY = 8  # Gradio workers per event; calls into the Assistant are serialized by a lock anyway
QUEUE_MAX = 256  # requests waiting beyond this get "queue full" instead of growing memory
# Waiting browsers get their queue position and ETA once a second. Gradio's default ("auto") sends every waiting
# event an update each time a job starts: O(waiting) messages per turn, 10,000 for 100 users x 2 turns.
STATUS_UPDATE_S = 1.0
# Gradio's queue rebuilds a pandas summary of up to 10,000 past events after every event, for a monitoring page this
# app never enables (measured 1.9 ms per event after 100 events, 14 ms after 10,000): once per 10,000 events instead
GRADIO_QUEUE_ENV = {"GRADIO_ANALYTICS_CACHE_FREQUENCY": "10000", "GRADIO_ANALYTICS_MAX_EVENTS": "1000"}
MAX_UPLOAD = "1mb"  # Gradio's upload route answers 413 beyond this
MISMATCH_VIEW = "Mismatches"  # browse choice: every footnote whose claim check found a contradiction
FETCH_OFF = (
    "Fetching from the app is turned off on this server (setting app_allow_fetch); "
    "run `citeqa sources fetch ID` or `citeqa sources add FILE --source ID` where citeqa is installed."
)


def new_session() -> dict[str, Any]:
    return {"messages": [], "topic": ""}


class ChatService:
    """Holds the loaded Assistant and answers UI events; never raises to the UI."""

    def __init__(self, assistant: Any, serialize: bool = True) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings
        self.corpus = assistant.corpus
        self._lock: Any = threading.Lock() if serialize else _NoLock()
        self.records = footnote_records(self.corpus)
        self._sources_by_fn: dict[str, list[Any]] = {r.id: r.sources for r in self.records}
        self._checks: dict[str, Any] | None = None  # footnote id -> FootnoteCheck, computed on first use
        self._checks_tried = False
        self._checks_lock = threading.Lock()
        self._fetch_lock = threading.Lock()  # one fetch at a time: the fetcher is polite per host, not per app
        self.turn_log = TurnLog(self.settings.timings_log) if self.settings.timings_log else None

    # -- claim check and local copies
    def claim_checks(self) -> dict[str, Any] | None:
        """Each reference footnote's claim-check row, computed once (~1-2 s); None when the check failed."""
        with self._checks_lock:
            if not self._checks_tried:
                self._checks_tried = True  # a failure is logged once, not retried on every keystroke
                try:
                    from citeqa.verify.sources_check import check_footnotes

                    with self._lock:  # it may embed with the shared native code
                        report = check_footnotes(self.settings)
                    self._checks = {row.footnote_id: row for row in report.rows}
                except Exception:
                    log.exception("claim check failed; footnotes are shown without verdicts")
            return self._checks

    def source_states(self) -> dict[str, Any]:
        """source id -> SourceState of every cited work, read fresh (a few small files per work)."""
        from citeqa.ingest.source_store import SourceStore

        store = SourceStore(self.settings.sources_path)
        return {s.id: store.state(s.id) for s in self.corpus.sources}

    # -- chat
    def sources_for(self, footnote_id: str) -> list[Any]:
        return self._sources_by_fn.get(footnote_id, [])

    def answer_html(
        self,
        question: str,
        condensed: Condensed | None = None,
        clock: TurnClock | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> tuple[str, bool]:
        """(HTML of the answer card, whether the question was accepted). `clock` gets the stages' times; an llm
        answerer streams its text to `on_delta`."""
        try:
            with self._lock:
                if clock:
                    clock.lap("lock_wait")
                answer = self.assistant.ask(question, on_delta=on_delta) if on_delta else self.assistant.ask(question)
                if clock:
                    clock.lap("ask")
            card = render_answer(answer, self.sources_for, condensed)
            if clock:
                clock.lap("render")
                clock.cpu_ms["retrieve"] = answer.timings_ms.get("retrieve_cpu", 0.0)
                clock.cpu_ms["answer"] = answer.timings_ms.get("answer_cpu", 0.0)
            return card, True
        except QuestionError as exc:
            return render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}."), False
        except BackendError as exc:  # a Chroma server that went away: say which, answers resume when it is back
            log.warning("%s", exc)
            return render_error(f"{exc}. Try again in a moment."), False
        except Exception:
            log.exception("answering %r failed", question[:200])
            return render_error(GENERIC_ERROR), False

    def respond(self, message: str | None, session: dict[str, Any] | None) -> tuple[str, list[dict[str, str]], dict]:
        """Chat turn: returns (new textbox value, chatbot messages, session state)."""
        session = dict(session or new_session())
        messages = list(session.get("messages", []))
        text = message if isinstance(message, str) else ""
        try:
            clean_question(text, self.settings.max_question_chars)
        except QuestionError as exc:
            if not text.strip():
                _notify("Type a question first (English or Chinese).")
                return "", messages, session
            messages += [
                {"role": "user", "content": render_user(text)},
                {"role": "assistant", "content": render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")},
            ]
            session["messages"] = messages[-2 * MAX_TURNS :]
            return "", session["messages"], session
        clock = TurnClock() if self.turn_log else None
        condensed = condense(text, session.get("topic") or None)
        if clock:
            clock.lap("condense")
        card, accepted = self.answer_html(condensed.question, condensed, clock)
        messages += [{"role": "user", "content": render_user(text)}, {"role": "assistant", "content": card}]
        session["messages"] = messages[-2 * MAX_TURNS :]
        if accepted:
            session["topic"] = condensed.topic
        if clock and self.turn_log:
            self.turn_log.write(clock.record(accepted=accepted, t=round(time.time(), 3)))
        return "", session["messages"], session

    def respond_stream(
        self, message: str | None, session: dict[str, Any] | None
    ) -> Iterator[tuple[str, list[dict[str, str]], dict]]:
        """Chat turn of the llm answerer: the model's text as it comes, then the validated answer card (or the
        extractive one with the reason), which replaces it."""
        text = message if isinstance(message, str) else ""
        try:
            clean_question(text, self.settings.max_question_chars)
        except QuestionError:
            yield self.respond(message, session)  # the plain path words every input error
            return
        session = dict(session or new_session())
        messages = list(session.get("messages", []))
        condensed = condense(text, session.get("topic") or None)
        pieces: queue.Queue[str | None] = queue.Queue()
        result: dict[str, tuple[str, bool]] = {}

        def work() -> None:
            try:
                result["card"] = self.answer_html(condensed.question, condensed, on_delta=pieces.put)
            finally:
                pieces.put(None)

        threading.Thread(target=work, name="citeqa-answer", daemon=True).start()
        asked = [*messages, {"role": "user", "content": render_user(text)}]
        written, finished = "", False
        while not finished and (piece := pieces.get()) is not None:
            written += piece
            while True:  # take everything that arrived meanwhile: one screen update per burst
                try:
                    more = pieces.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    finished = True
                    break
                written += more
            yield "", [*asked, {"role": "assistant", "content": render_streaming(written)}], session
        card, accepted = result.get("card", (render_error(GENERIC_ERROR), False))
        session["messages"] = [*asked, {"role": "assistant", "content": card}][-2 * MAX_TURNS :]
        if accepted:
            session["topic"] = condensed.topic
        yield "", session["messages"], session

    def ask_example(self, example: Any, session: dict[str, Any] | None) -> tuple[str, list[dict[str, str]], dict]:
        """An example was clicked: ask it as a new question (examples never condense with history)."""
        value = example[0] if isinstance(example, list | tuple) and example else example
        fresh = dict(session or new_session())
        fresh["topic"] = ""
        return self.respond(str(value or ""), fresh)

    # -- lookup
    def lookup(self, claim: str | None) -> str:
        try:
            text, _ = clean_question(claim or "", self.settings.max_question_chars)
        except QuestionError as exc:
            return render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.".replace("question", "claim"))
        try:
            with self._lock:
                retrieval = self.assistant.retriever.retrieve(text)
            return render_lookup(text, retrieval.hits, self.corpus.paper, retrieval.in_scope)
        except Exception:
            log.exception("lookup %r failed", text[:200])
            return render_error(GENERIC_ERROR)

    def browse(self, query: str | None, view: str | None) -> str:
        try:
            query = (query or "")[:200]
            if view and view.startswith("Sources"):
                return render_source_list(self.corpus, self.records, query)
            kind = {"Notes": "note", "References": "reference", MISMATCH_VIEW: "mismatch"}.get(view or "", "all")
            return render_footnote_list(self.records, query, kind, self.claim_checks())
        except Exception:
            log.exception("browse %r failed", query)
            return render_error(GENERIC_ERROR)

    def sources_view(self, query: str | None = None) -> str:
        """The Sources tab: every cited work with the state of its local copy."""
        try:
            return render_source_states(self.corpus.sources, self.source_states(), (query or "")[:200])
        except Exception:
            log.exception("sources view failed")
            return render_error(GENERIC_ERROR)

    def fetchable(self) -> list[tuple[str, str]]:
        """(label, source id) of every cited work with a URL: the only things the app will fetch."""
        return [(f"{s.title or '(untitled)'} — {s.id}"[:120], s.id) for s in self.corpus.sources if s.url]

    def fetch_work(
        self, source_id: str | None, query: str | None = None, progress: Any = None, refresh: bool = False
    ) -> tuple[str, str]:
        """Fetch one cited work's URL with the CLI's fetcher (allow_private_hosts etc. from the settings).

        Returns (Sources view HTML, one status line). Only ids of the bibliography are accepted, so a visitor can
        make the server fetch a footnote's URL and nothing else."""
        from citeqa.ingest.acquire import UnknownSource, fetch_sources, select
        from citeqa.ingest.source_store import InvalidSourceId

        def done(line: str) -> tuple[str, str]:
            return self.sources_view(query), f'<div class="cq-meta cq-fetch-status">{esc(line)}</div>'

        if not self.settings.app_allow_fetch:  # the button is hidden; a request made by hand is refused too
            return done(FETCH_OFF)
        try:
            (work,) = select(self.corpus.sources, [source_id or ""])
        except (UnknownSource, InvalidSourceId):
            return done("Choose a cited work to fetch first.")
        if not work.url:
            return done(f"{work.id} has no URL in its footnote; add a copy with `citeqa sources add`.")
        if not self._fetch_lock.acquire(blocking=False):
            return done("Another fetch is running; try again when it has finished.")
        try:
            (attempt,) = fetch_sources([work], self.settings, refresh=refresh, progress=progress)
            if attempt.outcome == "stored":
                from citeqa.index.sources_index import update_sources_index

                with self._lock:  # embedding shares the native code the Assistant uses
                    update_sources_index(self.settings, self.corpus.sources, progress)
                with self._checks_lock:
                    self._checks_tried = False  # the new copy may change verdicts: check again on next use
        except Exception:
            log.exception("fetching %s failed", work.id)
            return done(f"Fetching {work.id} failed unexpectedly; the error was logged.")
        finally:
            self._fetch_lock.release()
        line = {
            "stored": f"Stored a copy of {work.id}; verdicts are re-checked and answers use it from now on.",
            "kept": f"{work.id} already has a stored copy (kept).",
        }.get(attempt.outcome, f"Could not fetch {work.id}: {attempt.reason}")
        return done(line)

    def about(self) -> str:
        index = self.assistant.retriever.index
        try:
            counts: dict[str, int] | None = source_state_counts(self.source_states())
        except Exception:  # an unreadable store must not take the About panel down with it
            log.exception("reading the source store failed")
            counts = None
        return render_about(self.corpus, self.settings, index.manifest, index.path, counts)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _notify(message: str) -> None:
    """A toast in the browser when inside a Gradio event, a log line otherwise."""
    try:
        import gradio as gr
        from gradio.context import LocalContext

        if LocalContext.event_id.get(None) is not None:
            gr.Warning(message)
            return
    except Exception:  # a toast is a nicety: never let it break the turn
        log.debug("toast failed", exc_info=True)
    log.info(message)


# --------------------------------------------------------------------------- Gradio Blocks

CSS = """
.cq-header h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
.cq-header .cq-sub { color: var(--neutral-500); }
.cq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .7em .9em; margin: .4em 0;
  background: var(--background-fill-primary); line-height: 1.55; }
.cq-label { font-size: .78em; text-transform: uppercase; letter-spacing: .04em; color: var(--neutral-500);
  margin: .8em 0 .25em 0; font-weight: 600; }
.cq-card > .cq-label:first-child, .cq-card > .cq-condensed + .cq-label { margin-top: 0; }
.cq-answer p { margin: .15em 0 !important; font-size: 1.05em; }
.cq-marker, .cq-marker-box { color: var(--color-accent); font-weight: 700; }
.cq-marker { cursor: help; margin-left: 2px; }
ol.cq-cites { margin: .2em 0 !important; padding: 0 !important; list-style: none !important; }
li.cq-cite { margin: .3em 0 .6em 0 !important; padding: 0 0 0 .7em !important;
  border-left: 3px solid var(--color-accent); }
.cq-ref { margin: .15em 0; word-break: break-word; }
.cq-url, .cq-source, .cq-backs { font-size: .9em; margin: .1em 0; word-break: break-all; }
.cq-backs { word-break: normal; color: var(--neutral-500); }
.cq-kind { font-style: italic; }
.cq-id { font-family: var(--font-mono); font-size: .8em; color: var(--neutral-400); }
.cq-meta { font-size: .85em; color: var(--neutral-500); }
.cq-card blockquote { margin: .2em 0 !important; padding: .45em .8em !important;
  border-left: 3px solid #e3b341 !important; background: var(--background-fill-secondary); font-style: normal; }
.cq-card mark { background: #ffe58a; color: #111; padding: 0 .1em; border-radius: 2px; }
.cq-card a { padding: 0 !important; margin: 0 !important; }
.cq-english { margin: .5em 0; }
.cq-card table.cq-pairs, .cq-card table.cq-pairs tr { border: none !important; }
.cq-card table.cq-pairs { border-collapse: collapse; font-size: .95em; width: auto; margin: 0; }
.cq-card table.cq-pairs td { padding: .05em .6em .05em 0 !important; border: none !important; vertical-align: top;
  background: none !important; }
.cq-arrow { color: var(--neutral-400); }
.cq-notcovered { border-color: #d9822b !important; }
.cq-nc-title { font-weight: 700; color: #b35c00; margin-bottom: .2em; }
.cq-error { border-color: #c0392b !important; color: #c0392b; }
.cq-condensed { font-size: .85em; color: var(--neutral-500); margin-bottom: .4em; }
.cq-evidence { margin-top: .6em; font-size: .9em; }
.cq-evidence summary { cursor: pointer; color: var(--neutral-500); }
.cq-evidence ol { margin: .3em 0 0 1.4em !important; padding: 0 !important; }
.cq-evidence li { margin-bottom: .35em; }
.cq-user { white-space: pre-wrap; word-break: break-word; }
.cq-count { font-weight: 600; margin: .3em 0; }
.cq-scroll { max-height: 62vh; overflow-y: auto; padding-right: .3em; }
ul.cq-citing, ul.cq-fnlist { margin: .2em 0 .2em 1.2em !important; padding: 0 !important; }
.cq-citing li, .cq-fnlist li { margin: .2em 0; word-break: break-word; }
.cq-src-title { font-weight: 600; }
.cq-card table.cq-table, .cq-card table.cq-table tr { border: none !important; }
.cq-card table.cq-table { border-collapse: collapse; width: 100%; margin: 0; }
.cq-card table.cq-table th, .cq-card table.cq-table td { border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; padding: .25em .8em .25em 0 !important;
  text-align: left; vertical-align: top; background: none !important; }
.cq-card table.cq-table th { white-space: nowrap; width: 14em; font-weight: 600; }
.cq-card table.cq-table td { word-break: break-word; }
.cq-muted { opacity: .7; font-size: .85em; }
.cq-badge { display: inline-block; font-size: .75em; font-weight: 600; padding: 0 .5em; border-radius: 999px;
  border: 1px solid currentColor; vertical-align: middle; white-space: nowrap; }
.cq-v-ok { color: #1e7d32; }
.cq-v-partial { color: #a66a00; }
.cq-v-bad { color: #c0392b; }
.cq-v-none { color: var(--neutral-500); }
.cq-why { color: #c0392b; }
"""


# after an answer arrives, bring the start of the latest question into view (long cards would otherwise show
# only their tail, because the chatbot scrolls to the bottom)
SCROLL_TO_LATEST_JS = """() => { setTimeout(() => {
  const asked = document.querySelectorAll('#cq-chat .cq-user');
  if (!asked.length) return;
  const last = asked[asked.length - 1];
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 12;
}, 80); }"""


def _header(corpus: Any) -> str:
    paper = corpus.paper
    return (
        '<div class="cq-header"><h1>citeqa — ask the paper, see the footnotes</h1>'
        f'<div class="cq-sub"><span lang="zh">{esc(paper.title)}</span> · {esc(paper.page_count)} pages · '
        f"{esc(len(paper.footnotes))} footnotes · {esc(len(corpus.sources))} cited sources. "
        "Ask in English or Chinese; every answer quotes the paper and cites its footnotes.</div></div>"
    )


def gradio_temp_dir() -> Path:
    """This process's own folder for Gradio's upload and file cache, made on first use and removed at exit.

    Gradio keeps uploads (and copies of served files) in GRADIO_TEMP_DIR, by default a /tmp/gradio shared by every
    app and never emptied. citeqa makes a fresh folder (inside the user's GRADIO_TEMP_DIR when one is set), points
    GRADIO_TEMP_DIR at it before any component exists, and removes that folder, and only that one, at exit."""
    global _TEMP_DIR
    with _TEMP_LOCK:
        if _TEMP_DIR is None:
            parent = os.environ.get("GRADIO_TEMP_DIR") or None
            if parent:
                Path(parent).mkdir(parents=True, exist_ok=True)
            _TEMP_DIR = Path(tempfile.mkdtemp(prefix="citeqa-gradio-", dir=parent))
            os.environ["GRADIO_TEMP_DIR"] = str(_TEMP_DIR)
            atexit.register(shutil.rmtree, _TEMP_DIR, ignore_errors=True)
        return _TEMP_DIR


_TEMP_DIR: Path | None = None
_TEMP_LOCK = threading.Lock()


def url_host(host: str) -> str:
    """The host as a URL writes it: IPv6 addresses in brackets (http://[::1]:7860)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def build_app(assistant: Any, serialize: bool = True) -> Any:
    """The Blocks app for a loaded Assistant (queue configured; launch with ``launch_app``)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    gradio_temp_dir()  # before any component: each one names its cache folder when it is made
    import gradio as gr

    service = ChatService(assistant, serialize=serialize)
    corpus_dir = assistant.settings.corpus_path
    with gr.Blocks(title="citeqa", analytics_enabled=False) as demo:
        session = gr.State(new_session())
        gr.HTML(_header(service.corpus), elem_id="cq-header")
        with gr.Tabs():
            with gr.Tab("Chat · 问答", id="chat"):
                chatbot = gr.Chatbot(
                    value=[],
                    elem_id="cq-chat",
                    height="60vh",
                    autoscroll=False,
                    layout="panel",
                    show_label=False,
                    latex_delimiters=[],
                    sanitize_html=True,
                    allow_tags=False,
                    feedback_options=None,
                    buttons=[],
                    group_consecutive_messages=False,
                    placeholder=(
                        "<b>Ask about US manufacturing reshoring policy.</b><br>"
                        "Answers quote the paper, cite its footnotes (printed page and number) and link the sources. "
                        "Follow-ups such as “and what about Canada?” / “那加拿大呢？” keep the previous subject."
                    ),
                )
                with gr.Row():
                    message = gr.Textbox(
                        placeholder="Ask in English or Chinese… / 用中文或英文提问…",
                        show_label=False,
                        scale=8,
                        autofocus=True,
                        lines=1,
                        max_lines=4,
                        elem_id="cq-message",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="cq-send")
                    clear = gr.Button("New chat", scale=1, elem_id="cq-clear")
                examples = gr.Dataset(
                    components=["textbox"],
                    samples=[[q] for q in EXAMPLES],
                    label="Example questions (click to ask)",
                    samples_per_page=len(EXAMPLES),
                    elem_id="cq-examples",
                )
            with gr.Tab("Citation lookup · 引文查找", id="lookup"):
                gr.Markdown("**Find the passages and footnotes behind a claim** (English or Chinese).")
                with gr.Row():
                    claim = gr.Textbox(
                        placeholder="e.g. USMCA rules of origin for cars / 劳动力短缺",
                        show_label=False,
                        scale=8,
                        elem_id="cq-claim",
                    )
                    find = gr.Button("Find", variant="primary", scale=1, elem_id="cq-find")
                lookup_out = gr.HTML(elem_id="cq-lookup-out", js_on_load=None)
                gr.Markdown(
                    "**Browse all footnotes and sources**: each shows where the paper cites it (page, sentence)."
                )
                with gr.Row():
                    browse_filter = gr.Textbox(
                        placeholder="Filter: CHIPS, Pew, 劳动力, p. 57, 2023 …",
                        show_label=False,
                        scale=6,
                        elem_id="cq-filter",
                    )
                    browse_view = gr.Radio(
                        ["All footnotes", "Notes", "References", MISMATCH_VIEW, "Sources"],
                        value="All footnotes",
                        show_label=False,
                        scale=5,
                        elem_id="cq-view",
                    )
                browse_out = gr.HTML(service.browse("", "All footnotes"), elem_id="cq-browse-list", js_on_load=None)
                gr.Markdown("**Download the bibliography** built from the footnotes:")
                with gr.Row():
                    gr.DownloadButton(
                        "BibTeX (bibliography.bib)", value=str(corpus_dir / "bibliography.bib"), elem_id="cq-bibtex"
                    )
                    gr.DownloadButton(
                        "CSL-JSON (bibliography.csl.json)",
                        value=str(corpus_dir / "bibliography.csl.json"),
                        elem_id="cq-csl",
                    )
            with gr.Tab("Sources · 来源", id="sources"):
                gr.Markdown(
                    "**The cited works and their local copies** (fetch them with `citeqa sources fetch`; "
                    "add a copy you have with `citeqa sources add`)."
                )
                with gr.Row():
                    sources_filter = gr.Textbox(
                        placeholder="Filter: Pew, CHIPS, 2023 …", show_label=False, scale=8, elem_id="cq-src-filter"
                    )
                    sources_refresh = gr.Button("Refresh", scale=1, elem_id="cq-src-refresh")
                allow_fetch = service.settings.app_allow_fetch
                with gr.Row(visible=allow_fetch):
                    fetch_choice = gr.Dropdown(
                        service.fetchable(),
                        value=None,
                        label="Fetch one cited work's URL (the footnote's link only)",
                        scale=8,
                        elem_id="cq-fetch-choice",
                    )
                    fetch_button = gr.Button("Fetch", scale=1, elem_id="cq-fetch", interactive=allow_fetch)
                off_note = "" if allow_fetch else f'<div class="cq-meta cq-fetch-off">{esc(FETCH_OFF)}</div>'
                fetch_status = gr.HTML(off_note, elem_id="cq-fetch-status", js_on_load=None)
                sources_out = gr.HTML(service.sources_view(""), elem_id="cq-sources-out", js_on_load=None)
            with gr.Tab("About this corpus", id="about") as about_tab:
                about_out = gr.HTML(service.about(), elem_id="cq-about", js_on_load=None)

        hidden = {"api_visibility": "undocumented"}
        chat_io: dict[str, Any] = {"outputs": [message, chatbot, session]}
        # /chat is the same path the browser takes (session state included): scripts and the load test use it
        scroll = {"fn": None, "js": SCROLL_TO_LATEST_JS, **hidden}
        # the llm answerer streams the model's text; the extractive answer comes whole in milliseconds
        chat = service.respond_stream if service.settings.answerer == "llm" else service.respond
        message.submit(chat, [message, session], api_name="chat", **chat_io).then(**scroll)
        send.click(chat, [message, session], **chat_io, **hidden).then(**scroll)
        examples.click(service.ask_example, [examples, session], **chat_io, **hidden).then(**scroll)
        clear.click(lambda: ("", [], new_session()), None, [message, chatbot, session], **hidden)
        chatbot.clear(new_session, None, session, **hidden)  # the chatbot's own trash button
        find.click(service.lookup, claim, lookup_out, api_name="lookup")
        claim.submit(service.lookup, claim, lookup_out, **hidden)
        browse_filter.change(service.browse, [browse_filter, browse_view], browse_out, api_name="browse")
        browse_view.change(service.browse, [browse_filter, browse_view], browse_out, **hidden)
        sources_filter.change(service.sources_view, sources_filter, sources_out, api_name="sources")
        sources_refresh.click(service.sources_view, sources_filter, sources_out, **hidden)
        # the source counts change with every fetch or add (here, from the CLI, or on another replica)
        about_tab.select(service.about, None, about_out, **hidden)

        track = gr.Progress()  # Gradio recognises the progress parameter by its default value

        def fetch_event(source_id: str | None, query: str | None, progress: Any = track) -> tuple[str, str, str]:
            view, status = service.fetch_work(source_id, query, lambda desc, frac: progress(frac, desc=desc))
            return view, status, service.about()  # the About panel's counts of local copies follow the fetch

        if allow_fetch:  # off: no fetch event exists at all, so none can be triggered through the API either
            # one at a time across all sessions (the service refuses a second one anyway)
            fetch_button.click(
                fetch_event,
                [fetch_choice, sources_filter],
                [sources_out, fetch_status, about_out],
                concurrency_limit=1,
                **hidden,
            )
    for name, value in GRADIO_QUEUE_ENV.items():  # read when the queue is made; a value the user set wins
        os.environ.setdefault(name, value)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX, status_update_rate=STATUS_UPDATE_S)
    demo.citeqa_service = service  # type: ignore[attr-defined]
    return demo


def launch_app(demo: Any, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> Any:
    """Serve on host:port: no share link, no error details to the browser, nothing fetched from the internet,
    uploads capped at MAX_UPLOAD (the app has no upload widget; Gradio's upload route is open all the same)."""
    gradio_temp_dir()
    import gradio as gr

    theme = gr.themes.Default(
        font=["system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )
    kwargs.setdefault("max_file_size", MAX_UPLOAD)
    return demo.launch(
        server_name=url_host(host),  # Gradio binds "[::1]" as ::1 and builds its own URLs from it
        server_port=port,
        share=False,
        show_error=False,
        inbrowser=False,
        max_threads=64,
        footer_links=[],
        theme=theme,
        css=CSS,
        **kwargs,
    )


__all__ = [
    "EXAMPLES",
    "ChatService",
    "build_app",
    "gradio_temp_dir",
    "launch_app",
    "url_host",
]
