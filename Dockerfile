# syntax=docker/dockerfile:1
# The Stormlog regional worker (and its admin CLI). Node 22.12+ runs the TypeScript sources
# directly (type stripping), so there is no build step: the image is the production
# dependencies plus regional/ and shared/. Configuration comes only from the environment
# (README, "Container image"); data lives in the /data volume, so the root filesystem can be
# read-only. deploy/image.test.ts runs this image's CMD from a production-only install.
#
#   docker build -t stormlog-regional .
#   docker run --read-only --tmpfs /tmp -v stormlog-data:/data -p 8700:8700 --name stormlog-eu-west \
#     -e STORMLOG_REGION=eu-west -e STORMLOG_EDGE_SECRET=… -e STORMLOG_PEER_SECRET=… \
#     -e STORMLOG_ADMIN_SECRET=… -e STORMLOG_KEYRING='{…}' stormlog-regional
#   docker exec -e STORMLOG_REGIONS='[{"name":"eu-west","url":"http://127.0.0.1:8710"}]' \
#     -e STORMLOG_KEY_SECRET=… -e STORMLOG_ADMIN_SECRET=… stormlog-eu-west node regional/admin/cli.ts apps list
#
# The admin listener (STORMLOG_ADMIN_PORT, 8710) stays on the container's loopback: it is not
# exposed, and only `docker exec` or `kubectl port-forward` reach it.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; none of them needs an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to Node and reaps zombies; Node then drains (regional/server.ts).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    STORMLOG_HOST=0.0.0.0 \
    STORMLOG_PORT=8700 \
    STORMLOG_DATA_DIR=/data \
    STORMLOG_KEYSTORE_DIR=/keys
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY shared ./shared
COPY regional ./regional
# The image's own user (uid 10001), never root; /data (batch data) and /keys (the key store, kept
# apart so a backup or restore of one never carries the other) are the only places it writes.
RUN groupadd --system --gid 10001 stormlog \
 && useradd --system --uid 10001 --gid stormlog --home-dir /app --shell /usr/sbin/nologin stormlog \
 && mkdir -p /data /keys && chown stormlog:stormlog /data /keys
USER 10001:10001
VOLUME ["/data", "/keys"]
EXPOSE 8700
# Ready = serving and the database answers; a draining region turns unhealthy at once.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.STORMLOG_PORT||8700)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# Migrations are applied by the server at start-up, before it listens.
CMD ["node", "regional/server.ts"]
