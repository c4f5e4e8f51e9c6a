# One image for the Node.js parts of the stack: the GPU sidecar, the example inference service,
# its load generator and the analyzer. Built from the repository root:
#   docker build -f docker/node.Dockerfile -t latency-doctor:dev .
# Dev dependencies stay installed: the examples run TypeScript directly with `node --import tsx`.
ARG NODE_IMAGE=node:20.19-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the root `prepare` script (tsc) would run before the sources are copied;
# onnxruntime-node's install script is skipped by .npmrc anyway (its CPU binaries ship in the package).
RUN npm ci --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npx tsc -p tsconfig.build.json
# Trace files written by the tracer's embedded file exporter land here when no collector is set.
RUN mkdir -p /var/lib/latency-doctor/traces && chown -R node:node /var/lib/latency-doctor
USER node
ENTRYPOINT ["node"]
CMD ["bin/latency-doctor.js", "--help"]
