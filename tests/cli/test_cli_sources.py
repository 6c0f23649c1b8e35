"""`citeqa sources …` through the real entry point, against a real HTTP server on 127.0.0.1.

The project is a temporary copy of the seed whose two CHIPS/IRA footnote URLs point at the test server; the pages
served are invented for the test (tests/fixtures/sources/README.md): one agrees with the paper, one contradicts it.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from citeqa.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SEED = next((REPO / "seeds").glob("*.txt"))
CHIPS_URL = "https://www.commerce.senate.gov/services/files/592E23A5-B56F-48AE-B4C1-493822686BCB"
IRA_URL = "https://\nwww.iea.org/policies/16277-inflation-reduction-act-2022-sec-13401-clean-vehicle-credit"

# invented pages: the first states the paper's figure (390 亿美元 = $39 billion), the second another credit amount
AGREEING_PAGE = b"""<!doctype html><html><head><title>The CHIPS Act of 2022 (test summary)</title></head><body>
<article><h1>The CHIPS Act of 2022</h1>
<p>This invented summary exists only for a test. The law appropriates $39 billion for a manufacturing incentives
programme that subsidises companies building, expanding or modernising semiconductor fabrication plants in the
United States.</p>
<p>Companies that accept the subsidies may not expand advanced chip production in certain countries of concern
for ten years.</p>
<p>The summary also mentions research funding and workforce programmes, which are outside the test's claim.</p>
</article></body></html>"""
CONTRADICTING_PAGE = b"""<!doctype html><html><head><title>Clean vehicle credit (test page)</title></head><body>
<article><h1>Clean Vehicle Credit</h1>
<p>This invented page exists only for a test. Consumers who buy a new electric vehicle can receive a subsidy of up
to $5,000, provided the final assembly of the vehicle takes place in the United States or in a country with a
free trade agreement with the United States.</p>
<p>Other conditions on battery components apply and are described elsewhere on this invented page.</p>
</article></body></html>"""


@dataclass
class Project:
    root: Path
    server: HTTPServer

    def args(self, *extra: str) -> list[str]:
        return [*extra, "--root", str(self.root), "--index-dir", str(self.root / "index")]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def sources_list(project: Project, capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    code, out, _ = run(capsys, "sources", "list", "--json", *project.args())
    assert code == 0
    return {r["id"]: r for r in json.loads(out)}


def by_footnote(records: dict[str, dict], footnote_id: str) -> dict:
    (record,) = [r for r in records.values() if any(f["id"] == footnote_id for f in r["footnotes"])]
    return record


@pytest.fixture
def project(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, capsys) -> Project:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/chips").respond_with_data(AGREEING_PAGE, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/ev-credit").respond_with_data(
        CONTRADICTING_PAGE, content_type="text/html; charset=utf-8"
    )
    seed = SEED.read_text(encoding="utf-8")
    assert CHIPS_URL in seed and IRA_URL in seed
    seed = seed.replace(CHIPS_URL, httpserver.url_for("/chips")).replace(IRA_URL, httpserver.url_for("/ev-credit"))
    root = tmp_path / "project"
    (root / "seeds").mkdir(parents=True)
    (root / "seeds" / SEED.name).write_text(seed, encoding="utf-8")
    (root / "corpus").mkdir()
    shutil.copytree(REPO / "corpus" / "claimcheck", root / "corpus" / "claimcheck")
    shutil.copyfile(REPO / "corpus" / "glossary.json", root / "corpus" / "glossary.json")
    monkeypatch.setenv("CITEQA_HOME", str(root))
    monkeypatch.delenv("CITEQA_INDEX_DIR", raising=False)
    monkeypatch.setenv("CITEQA_ALLOW_PRIVATE_HOSTS", "1")
    monkeypatch.setenv("CITEQA_FETCH_DELAY_S", "0")
    monkeypatch.setenv("CITEQA_FETCH_TIMEOUT_S", "5")
    monkeypatch.setenv("CITEQA_EMBEDDERS", "usem3")  # the paper index builds in seconds with the fast model alone
    p = Project(root, httpserver)
    code, _, err = run(capsys, "corpus", "build", *p.args())
    assert code == 0, err
    return p


# --------------------------------------------------------------------------- list, fetch, add


def test_list_shows_every_work_with_its_footnotes(project: Project, capsys) -> None:
    records = sources_list(project, capsys)
    assert len(records) == 62
    assert sum(1 for r in records.values() if r["url"]) == 50
    chips = by_footnote(records, "p4-fn2")
    assert chips["url"] == project.server.url_for("/chips")
    assert chips["footnotes"] == [{"id": "p4-fn2", "page": 53, "pdf_page": 4, "number": 2, "label": "p. 53 fn 2"}]
    assert {r["state"] for r in records.values()} == {"not_fetched"}
    code, out, _ = run(capsys, "sources", "list", *project.args())
    assert code == 0 and "62 cited works (50 with a URL): 62 not_fetched" in out and chips["id"] in out


def test_fetch_stores_refetches_only_what_is_missing_and_keeps_copies(project: Project, capsys) -> None:
    records = sources_list(project, capsys)
    chips, ira = by_footnote(records, "p4-fn2")["id"], by_footnote(records, "p4-fn3")["id"]
    code, out, err = run(capsys, "sources", "fetch", chips, ira, *project.args())
    assert code == 0, err
    assert "2 stored, 0 already stored, 0 failed" in out
    records = sources_list(project, capsys)
    assert records[chips]["state"] == "fetched" and records[chips]["status"] == 200 and records[chips]["via"] == "live"
    stored = (project.root / "corpus" / "sources" / chips / "original.html").read_bytes()
    assert stored == AGREEING_PAGE

    # a re-run fetches nothing; a refresh that fails keeps the copy and says so
    requests = len(project.server.log)
    code, out, _ = run(capsys, "sources", "fetch", chips, *project.args())
    assert code == 0 and "0 stored, 1 already stored" in out and len(project.server.log) == requests
    project.server.clear()
    project.server.expect_request("/robots.txt").respond_with_data("", status=404)
    project.server.expect_request("/chips").respond_with_data("gone", status=403)
    code, out, err = run(capsys, "sources", "fetch", "--refresh", chips, *project.args())
    assert code == 3 and "1 failed" in out and "1 of 1 works failed" in err
    records = sources_list(project, capsys)
    assert records[chips]["state"] == "fetched" and "HTTP 403" in records[chips]["reason"]
    assert (project.root / "corpus" / "sources" / chips / "original.html").read_bytes() == stored


def test_add_a_local_file_a_url_and_unknown_ids(project: Project, capsys, tmp_path: Path, monkeypatch) -> None:
    records = sources_list(project, capsys)
    work = by_footnote(records, "p4-fn1")["id"]
    saved = tmp_path / "saved.txt"
    saved.write_text("An invented note for a test.\n\nIt states a $2.3 billion credit programme.\n", encoding="utf-8")
    code, out, err = run(capsys, "sources", "add", str(saved), "--source", work, *project.args())
    assert code == 0, err
    assert f"added {work}" in out
    record = sources_list(project, capsys)[work]
    assert record["state"] == "added" and record["via"] == "added" and record["chunks"] == 2

    # a URL given by the user is fetched now and stored as added
    code, out, err = run(capsys, "sources", "add", project.server.url_for("/chips"), "--source", work, *project.args())
    assert code == 0 and "cut at max_source_chunks" not in out, err
    assert (project.root / "corpus" / "sources" / work / "original.html").read_bytes() == AGREEING_PAGE
    assert sources_list(project, capsys)[work]["chunks"] > 1

    # past max_source_chunks the rest is not indexed, and both the update and the list say so
    monkeypatch.setenv("CITEQA_MAX_SOURCE_CHUNKS", "1")
    code, out, _ = run(capsys, "sources", "add", str(saved), "--source", work, *project.args())
    assert code == 0 and f"{work} cut at max_source_chunks" in out
    record = sources_list(project, capsys)[work]
    assert (record["chunks"], record["chunks_total"], record["truncated"]) == (1, 2, True)
    code, out, _ = run(capsys, "sources", "list", *project.args())
    assert f"* {work}: indexed 1 of 2 chunks (max_source_chunks); the rest is not searched" in out

    for argv in (["fetch", "src-000000"], ["add", str(saved), "--source", "src-000000"], ["fetch", "../etc"]):
        code, out, err = run(capsys, "sources", *argv, *project.args())
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), (argv, err)


def test_offline_fetch_of_the_real_seed_fails_every_work_with_a_reason(tmp_path: Path, capsys) -> None:
    """No internet here: every URL fails fast (DNS), with its reason, exit 3; nothing is stored."""
    started = time.monotonic()
    argv = ["sources", "fetch", "--sources-dir", str(tmp_path / "sources"), "--root", str(REPO)]
    code, out, err = run(capsys, *argv)
    assert code == 3
    assert time.monotonic() - started < 120
    assert "50 works: 0 stored, 0 already stored, 50 failed" in out
    assert "error: 50 of 50 works failed (0 stored)" in err
    failures = [json.loads(p.read_text()) for p in (tmp_path / "sources").glob("src-*/last_failure.json")]
    assert len(failures) == 50 and all(f["reason"] for f in failures)


# --------------------------------------------------------------------------- end to end


def test_fetched_sources_become_evidence(project: Project, capsys) -> None:
    records = sources_list(project, capsys)
    chips = by_footnote(records, "p4-fn2")["id"]
    code, out, err = run(capsys, "sources", "fetch", *project.args())
    assert code == 3  # the 48 real URLs are unreachable here; the two served ones are stored
    assert "2 stored, 0 already stored, 48 failed" in out
    assert "source index: 2 sources embedded" in out
    code, out, err = run(capsys, "ask", "--json", "《芯片与科学法》为半导体制造拨款多少？", *project.args())
    assert code == 0, err
    answer = json.loads(out)
    sources = [e for e in answer["evidence"] if e["kind"] == "source"]
    assert sources and sources[0]["source_id"] == chips
    assert sources[0]["footnote_ids"] == ["p4-fn2"] and sources[0]["url"] == project.server.url_for("/chips")
    work = "U.S. Senate Committee on Commerce, Science ＆ Transportation, 'The CHIPS Act of 2022'"
    assert sources[0]["cite"].startswith(f"source of p. 53 fn 2 — {work}, ")
    assert "$39 billion" in " ".join(s["text"] for s in sources if s["source_id"] == chips)
    # the paper stays primary: every paper passage comes before the first source passage
    kinds = [e["kind"] for e in answer["evidence"]]
    assert kinds.index("source") == len(kinds) - len(sources)
    # the footnote the answer cites shows what its stored source says, with the check's verdict
    cited = {c["footnote_id"]: c for c in answer["citations"]}
    assert "p4-fn2" in cited, answer["citations"]
    check = cited["p4-fn2"]["source_check"]
    assert check["verdict"] == "supported" and check["source_id"] == chips
    assert "$39 billion" in check["passage"] and "390 亿美元 = $39 billion" in check["figures_compared"]
    assert all(c["source_check"] is None for f, c in cited.items() if f not in ("p4-fn2", "p4-fn3"))
    code, out, err = run(capsys, "ask", "《芯片与科学法》为半导体制造拨款多少？", *project.args())
    assert code == 0 and "the source (supported): “" in out

    # the claim check: the agreeing page supports the CHIPS sentence (390 亿美元 = $39 billion), the other page
    # contradicts the 7500 美元 credit with $5,000
    code, out, err = run(capsys, "sources", "check", "--json", "p4-fn2", "p4-fn3", "p4-fn1", *project.args())
    assert code == 0, err
    rows = {r["footnote_id"]: r for r in json.loads(out)["rows"]}
    chips_row, ira_row = rows["p4-fn2"], rows["p4-fn3"]
    assert chips_row["verdict"] == "supported", chips_row["reason"]
    assert "390 亿美元" in chips_row["claim"] and "390 亿美元 = $39 billion" in chips_row["figures_compared"]
    assert chips_row["passages"][0]["source_id"] == chips and chips_row["score"] > 0.3
    assert len(chips_row["passages"]) <= 3
    assert ira_row["verdict"] == "mismatch", ira_row["reason"]
    assert "7500 美元 ≠ $5,000" in ira_row["figures_compared"]
    assert rows["p4-fn1"]["verdict"] in ("not_fetched", "unavailable", "mismatch")  # its URL is unreachable here
    code, out, _ = run(capsys, "sources", "check", "p4-fn2", *project.args())
    assert code == 0 and "supported" in out and "p. 53 fn 2" in out
    code, _, err = run(capsys, "sources", "check", "p99-fn9", *project.args())
    assert code == 2 and "not a reference footnote" in err


def test_offline_check_of_the_real_paper_runs_on_the_footnotes(tmp_path: Path, capsys) -> None:
    """Nothing stored: every reference footnote is checked against its own text; none can be 'supported'."""
    argv = ["sources", "check", "--json", "--root", str(REPO), "--sources-dir", str(tmp_path / "none")]
    code, out, _ = run(capsys, *argv, "--index-dir", str(tmp_path / "index"))
    assert code == 0
    report = json.loads(out)
    assert len(report["rows"]) == 55 and report["stored_works"] == 0
    assert set(report["counts"]) <= {"mismatch", "not_fetched", "unavailable"}
    mismatches = [r for r in report["rows"] if r["verdict"] == "mismatch"]
    assert all(r["check"]["evidence"] == "witness" for r in mismatches)
    # the footnote titles that state another figure than the citing sentence (measured: 3, see the README)
    assert {r["footnote_id"] for r in mismatches} >= {"p13-fn4"}
    assert not (tmp_path / "index").exists()  # a check with nothing stored builds nothing
