# One image for the Node.js parts of the stack: the GPU sidecar, the example inference service,
# its load generator and the analyzer. Built from the repository root:
#   docker build -f docker/node.Dockerfile -t latency-doctor:dev .
# Dev dependencies stay installed: the examples run TypeScript directly with `node --import tsx`.
ARG NODE_IMAGE=node:24.11-bookworm-slim
FROM ${NODE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the root `prepare` script (tsc) would run before the sources are copied;
# onnxruntime-node's install script (a CUDA download from NuGet; the CPU binaries ship in the
# package) would be skipped anyway: package.json's allowScripts denies it, and for the image's npm,
# which may predate allowScripts, ONNXRUNTIME_NODE_INSTALL=skip.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN npx tsc -p tsconfig.build.json
# Trace files written by the tracer's embedded file exporter land here when no collector is set.
# 10001:10001 is the Collector's uid (its file exporter writes 0600 files that `analyze` must read).
RUN mkdir -p /var/lib/latency-doctor/traces && chown -R 10001:10001 /var/lib/latency-doctor
USER 10001:10001
ENTRYPOINT ["node"]
CMD ["bin/latency-doctor.js", "--help"]
