# cohortlab's API and explorer in a container (README, "Run the server in a container").
#   docker build -t cohortlab .
#   docker run --rm -p 8080:8080 -v "$PWD/models:/models:ro" cohortlab
# test/cli/dockerfile.test.ts checks what this file promises (Docker itself is not needed to run it).

# Build stage: dev dependencies (TypeScript, esbuild) compile src/ and the explorer into dist/. Install scripts are skipped: the build needs none,
# and the optional @tensorflow/tfjs-node would download libtensorflow here.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# the explorer's TypeScript (explorer/src) is type-checked and bundled into dist/explorer by the build
COPY explorer ./explorer
RUN npm ci --ignore-scripts && npm run build

# Run stage: production dependencies only, the compiled dist/, the launcher, the explorer's files and the shipped rules.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    COHORTLAB_MODELS_DIR=/models
WORKDIR /app
COPY package.json package-lock.json ./
# tfjs-node is removed: its native binding comes from that download; models run on the wasm backend, as they are
# trained and tested (src/churn/backend.ts), with no warning at start-up. --omit=optional would also drop DuckDB's binary.
RUN npm ci --omit=dev --ignore-scripts \
 && rm -rf node_modules/@tensorflow/tfjs-node \
 && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY explorer ./explorer
COPY rules ./rules
# The registry (models/NAME/VERSION/ folders written by `cohortlab train`) is mounted here; the image holds none.
RUN mkdir -p /models && chown node:node /models
USER node
VOLUME ["/models"]
EXPOSE 8080
# No curl in the slim image: node's fetch asks the server's liveness route (never behind the API key).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/v1/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/cohortlab.js"]
# 0.0.0.0: inside a container the loopback default (127.0.0.1) would be unreachable through -p.
CMD ["serve", "--model", "default", "--host", "0.0.0.0", "--port", "8080"]
