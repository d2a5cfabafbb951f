# messenger-lex-bridge — the commands a newcomer needs.
#   make demo   start the bridge in local mode (sample bot, local Graph inbox, emulator page)
#   make chat   chat with it from a second terminal
#   make test   lint, type-check and run every test

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install demo chat serve worker lint format test screenshot clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

# make demo BOT=lexv2 talks to your Lex V2 bot (LEX_BOT_ID, LEX_BOT_ALIAS_ID, AWS_REGION and
# AWS credentials in the environment) while Graph stays local.
demo: install
	$(if $(BOT),BRIDGE_BOT=$(BOT) )$(BIN)/python -m bridge demo

chat: install
	$(BIN)/python -m bridge chat

serve: install
	$(BIN)/python -m bridge serve

worker: install
	$(BIN)/python -m bridge worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest

# Refresh the README's picture of the emulator (needs Debian's chromium).
screenshot: install
	UPDATE_SCREENSHOT=1 $(BIN)/pytest -q tests/test_emulator_browser.py -k screenshot

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
