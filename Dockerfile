# Images for the moorage service and its operator.
#   docker build --target service  -t moorage/service:dev .
#   docker build --target operator -t moorage/operator:dev .
# Needs BuildKit (RUN --mount). Where no registry answers, pass a local base:
#   --build-arg BASE_IMAGE=moorage.local/python:3.11-bookworm   (cluster/base-images.sh)
# Extra CA certificates for pip/uv behind a TLS-inspecting proxy (optional):
#   --secret id=extra_ca,src=/etc/ssl/certs/ca-certificates.crt
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build: resolve dependencies from uv.lock into /app/.venv ----------------
FROM ${BASE_IMAGE} AS build-base
ARG UV_VERSION=0.13.8
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
# strip (binutils) shrinks the wheels' native libraries, most of which ship debug info
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/*
# slim-venv: no native debug info, no Cython/C sources.
RUN printf '%s\n' \
      'find /app/.venv -name "*.so" -exec strip --strip-unneeded {} +' \
      'find /app/.venv \( -name "*.pyx" -o -name "*.pxd" -o -name "*.pxi" -o -name "*.c" -o -name "*.h" \) -delete' \
      >/usr/local/bin/slim-venv \
 && chmod +x /usr/local/bin/slim-venv
# ca.sh: trust the system roots plus the optional extra_ca secret, for pip and uv.
RUN printf '%s\n' \
      'bundle=/tmp/ca-bundle.pem; : >"$bundle"' \
      'for f in /etc/ssl/certs/ca-certificates.crt /run/secrets/extra_ca; do [ -s "$f" ] && cat "$f" >>"$bundle"; done' \
      'if [ -s "$bundle" ]; then export SSL_CERT_FILE="$bundle" PIP_CERT="$bundle"; fi' \
      >/usr/local/bin/ca.sh
RUN --mount=type=secret,id=extra_ca \
    . /usr/local/bin/ca.sh \
 && python3 -m venv /opt/uv \
 && /opt/uv/bin/pip install --quiet "uv==${UV_VERSION}" \
 && ln -s /opt/uv/bin/uv /usr/local/bin/uv
WORKDIR /app
# README.md (the package's long description) comes with the code: editing it must not re-resolve the
# dependency layers.
COPY pyproject.toml uv.lock ./

FROM build-base AS build-service
RUN --mount=type=secret,id=extra_ca \
    . /usr/local/bin/ca.sh && uv sync --frozen --no-default-groups --no-install-project
COPY README.md ./
COPY service ./service
COPY operator ./operator
RUN --mount=type=secret,id=extra_ca \
    . /usr/local/bin/ca.sh && uv sync --frozen --no-default-groups --no-editable && slim-venv
# Bytecode for exactly the modules `serve`, `migrate` and `check-config` import (about 15 MB), written
# by importing them once: a pod then starts on half the CPU. The whole venv's would exceed the budget.
RUN DATABASE_URL=postgresql://build@127.0.0.1/build SECRET_KEY=build-time-only-key-build-time-only \
    /app/.venv/bin/python -c 'import uvicorn, uvicorn.loops.uvloop, moorage.cli, moorage.migrate; \
uvicorn.Config("moorage.app:create_app", factory=True, loop="uvloop", http="httptools").load(); \
moorage.migrate.head_revisions("postgresql+asyncpg://build@127.0.0.1/build")'

FROM build-base AS build-operator
RUN --mount=type=secret,id=extra_ca \
    . /usr/local/bin/ca.sh && uv sync --frozen --no-default-groups --extra operator --no-install-project
COPY README.md ./
COPY service ./service
COPY operator ./operator
RUN --mount=type=secret,id=extra_ca \
    . /usr/local/bin/ca.sh && uv sync --frozen --no-default-groups --extra operator --no-editable && slim-venv
# The same for what the operator imports at start-up (kopf, its handlers, the Kubernetes client).
RUN /app/.venv/bin/python -c 'import kopf.cli, moorage_operator.__main__'

# ---- runtime: non-root, read-only root filesystem friendly -------------------
FROM ${BASE_IMAGE} AS runtime
# Only /tmp is written: HOME and TMPDIR point there. Bytecode ships only for the
# modules start-up imports (see the build stages); the rest compiles in memory.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN echo 'moorage:x:10001:10001:moorage:/tmp:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'moorage:x:10001:' >>/etc/group
WORKDIR /app
USER 10001:10001

FROM runtime AS operator
COPY --from=build-operator /app/.venv /app/.venv
# `kopf run` with its settings from the environment (operator/moorage_operator/__main__.py)
ENTRYPOINT ["python", "-m", "moorage_operator"]

# The last stage is the default target.
FROM runtime AS service
COPY --from=build-service /app/.venv /app/.venv
EXPOSE 8000
ENTRYPOINT ["moorage"]
CMD ["serve"]
