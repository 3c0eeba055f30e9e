# Two commands matter: `make demo` and `make test` (see README). Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# tests/conformance: instrumentations that cannot share .venv get their own, built once (stamped on their
# requirements file). A failed install is recorded in install-failed.txt, which the tests report; delete the
# folder to retry.
CONFORMANCE := .venv-conformance
CONFORMANCE_STAMPS := $(CONFORMANCE)/openlit/.installed

.PHONY: demo test bench venv conformance-venvs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

$(CONFORMANCE)/%/.installed: tests/conformance/requirements-%.txt
	rm -rf $(CONFORMANCE)/$*
	$(PYTHON) -m venv $(CONFORMANCE)/$*
	$(CONFORMANCE)/$*/bin/python -m pip install --quiet --upgrade pip
	$(CONFORMANCE)/$*/bin/python -m pip install --quiet -r $< 2> $(CONFORMANCE)/$*/pip.log \
		|| cp $(CONFORMANCE)/$*/pip.log $(CONFORMANCE)/$*/install-failed.txt
	touch $@

conformance-venvs: $(CONFORMANCE_STAMPS)

demo: $(STAMP)
	$(BIN)/heron demo

test: $(STAMP) $(CONFORMANCE_STAMPS)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(CONFORMANCE) heron-data .pytest_cache
