# siamtrack: `make demo` (sets up, then runs the whole pipeline on generated demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.siamtrack-installed
# testkit (the tests', demo's and benchmarks' data writers) is installed for development only: no product package depends on it.
PACKAGES := packages/siamcore packages/dataprep packages/tracker packages/trainer packages/testkit

.PHONY: setup test demo train-cpu bench clean

setup: $(STAMP)

# torch is pinned first so that no later requirement pulls another build: on this machine
# torch==2.13.0 resolves to the local CPU wheel, on a CUDA machine to the CUDA build.
$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PACKAGES))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
	$(BIN)/python -m pip install -q --disable-pip-version-check $(patsubst %,-e '%',$(PACKAGES:packages/tracker=packages/tracker[onnx])) \
		"pytest>=8" "pytest-timeout>=2.3" "hypothesis>=6"
	touch $(STAMP)

# The numerically sensitive tests (marker `numerics`) run a second time under torch's portable kernel set:
# CPUs differ (AVX2, AVX-512, Intel, AMD) and so do their float roundings, so one machine's CI sees what another's would.
test: setup
	$(BIN)/python -m pytest
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest -m numerics -q

demo: setup
	$(BIN)/python scripts/demo.py

# Train on this CPU from ../shared/data, evaluate on 5 OTB sequences and held-out aerial tracks, plot against
# published trackers. SEEDS="0 1 2" trains one run per seed and reports mean and spread.
# More: make train-cpu SEEDS="0 1" ARGS="--models siamrpn siamconcatrpn siambroadcastrpn"
SEEDS ?= 0
train-cpu: setup
	$(BIN)/python scripts/train_cpu.py --seeds $(SEEDS) $(ARGS)

bench: setup
	$(BIN)/python benchmarks/dataprep_throughput.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
