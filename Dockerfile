# The llm-monitor receiver (with the demo workload available via --demo or the llm-monitor-demo
# command), installed from the packed npm tarballs. Multi-stage: build and install in a build stage,
# run as the unprivileged `node` user.
#   docker build -t llm-monitor .
#   docker run -p 8000:8000 -p 4318:4318 -p 4317:4317 -v llm-monitor-data:/data llm-monitor --demo

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 (the embedded history store) compiles its addon when no prebuilt binary is reachable.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
COPY packages ./packages
COPY examples ./examples
COPY grafana ./grafana
COPY scripts ./scripts
COPY tsconfig*.json ./
# The same artefacts a user installs: build, pack every public package (scripts/pack-all.mjs), and
# install the tarballs with plain npm, as anyone outside this repository would.
RUN pnpm install --frozen-lockfile && pnpm run build && node scripts/pack-all.mjs /packs
WORKDIR /opt/llm-monitor
RUN echo '{"name":"llm-monitor-image","private":true}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /packs/llm-monitor-*.tgz

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LLM_MONITOR_HOST=0.0.0.0 \
    LLM_MONITOR_PORT=8000 \
    LLM_MONITOR_OTLP_PORT=4318 \
    LLM_MONITOR_OTLP_GRPC_PORT=4317 \
    LLM_MONITOR_STORAGE_URL=sqlite:/data/llm-monitor.db \
    PATH=/opt/llm-monitor/node_modules/.bin:$PATH
WORKDIR /opt/llm-monitor
COPY --from=build /opt/llm-monitor /opt/llm-monitor
# The history (SQLite): keep it on a volume, or set LLM_MONITOR_STORAGE_URL to PostgreSQL.
RUN mkdir /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 8000 4318 4317
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["llm-monitor"]
