# syntax=docker/dockerfile:1
# Two images from one file:
#   --target hub      the API, the CLI (migrate, regions load, ...) and the mock subgraphs (python -m mocks...)
#   --target gateway  the federation gateway over the committed supergraph (federation/)
# Both run as an unprivileged user and carry no build tools.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${PYTHON_IMAGE} AS hub-build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub hub
COPY auth auth
COPY connectors connectors
COPY schema schema
COPY mocks mocks
RUN python -m venv /opt/slrt && /opt/slrt/bin/pip install --no-compile . \
    && find /opt/slrt -name '__pycache__' -prune -exec rm -rf {} +

FROM ${NODE_IMAGE} AS gateway-build
WORKDIR /gateway
COPY federation/package.json federation/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY federation/gateway.mjs federation/compose.mjs federation/supergraph.config.json federation/supergraph.graphql ./
COPY federation/subgraphs subgraphs

FROM ${NODE_IMAGE} AS gateway
WORKDIR /gateway
COPY --from=gateway-build --chown=root:root /gateway /gateway
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 SUPERGRAPH=/gateway/supergraph.graphql
USER node
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:4000/healthcheck').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "gateway.mjs"]

FROM ${PYTHON_IMAGE} AS hub
RUN groupadd --system --gid 10001 slrt && useradd --system --uid 10001 --gid slrt --home-dir /var/lib/slrt slrt \
    && mkdir -p /var/lib/slrt && chown slrt:slrt /var/lib/slrt
COPY --from=hub-build /opt/slrt /opt/slrt
ENV PATH=/opt/slrt/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SLRT_PROFILE=prod SLRT_HOST=0.0.0.0 SLRT_PORT=8000 SLRT_DATA_DIR=/var/lib/slrt
WORKDIR /var/lib/slrt
USER slrt
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["slrt-hub"]
CMD ["serve"]
