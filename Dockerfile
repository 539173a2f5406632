# syntax=docker/dockerfile:1
# Gatehouse team gateway image: `gatehouse serve --http` for a whole team.
#
#   docker build -t gatehouse .
#   docker run --read-only --tmpfs /tmp -v gatehouse-state:/var/lib/gatehouse \
#     -v ./deploy/compose:/etc/gatehouse:ro -p 127.0.0.1:8080:8080 gatehouse
#
# Runs as uid 10001 (numeric, so Kubernetes' runAsNonRoot can check it) on a read-only root
# file system: the package under /opt/gatehouse is root-owned and read-only; everything
# Gatehouse writes (audit store and keys, approvals, npm cache of npx upstreams) is under the
# volume /var/lib/gatehouse, which is also the working directory (so ./gatehouse.lock.json, the
# schema lock, is read from there; an explicit GATEHOUSE_LOCK would make a missing lock an
# error). Config and requirements are mounted read-only at /etc/gatehouse. See docs/deploy-team.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile, then keep the published files (package.json "files") and production deps --
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 falls back to a source build when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm install --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts \
 && mkdir -p /opt/gatehouse \
 && cp -r package.json dist bin examples node_modules /opt/gatehouse/

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    GATEHOUSE_HOME=/var/lib/gatehouse \
    HOME=/var/lib/gatehouse \
    GATEHOUSE_HEALTH_URL=http://127.0.0.1:8080/healthz
RUN groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/gatehouse \
      --no-create-home --shell /usr/sbin/nologin gatehouse \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/gatehouse \
 && install -d -o root -g root -m 0755 /etc/gatehouse
COPY --from=build --chown=root:root /opt/gatehouse /opt/gatehouse
COPY --chown=root:root deploy/docker/healthcheck.mjs /opt/gatehouse/healthcheck.mjs
USER 10001:10001
WORKDIR /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/opt/gatehouse/healthcheck.mjs"]
ENTRYPOINT ["node", "/opt/gatehouse/dist/bin/gatehouse.js"]
CMD ["--config", "/etc/gatehouse/config.toml", "serve", "--http", "0.0.0.0:8080"]
