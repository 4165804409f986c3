# One image for `sluice broker` and `sluice operator`.
#
#   docker build -t sluice:dev .
#   docker run --rm --network host sluice:dev broker --listen 127.0.0.1:9092
#
# NODE_IMAGE must be a Debian-based Node 20 image (node:20-bookworm-slim by default). Where there is
# no registry, tools/docker-base-image.sh makes an equivalent one locally (debootstrap + the host's
# Node 20) and the build passes --build-arg NODE_IMAGE=sluice-node-base:20.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- deps: every dependency, from the lock -------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
# The lock file is complete (every platform's optional packages, .ci/run checks it): npm ci only.
RUN npm ci --no-audit --no-fund

# ---- prod-deps: runtime dependencies only (cached until package*.json change) ---------------------
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

# ---- build: compile TypeScript (the only step a source change reruns) -----------------------------
FROM deps AS build
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build

# ---- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /src/package.json ./package.json
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The control-plane .proto is loaded at runtime (src/controller/grpc/proto.ts walks up to it).
COPY --from=build /src/proto ./proto
# Broker data lives under /var/lib/sluice (a volume in Kubernetes); owned by the runtime user.
RUN mkdir -p /var/lib/sluice && chown 1000:1000 /var/lib/sluice
USER 1000:1000
EXPOSE 9092 9091 9404 8080
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
# Bind every interface; advertise what `docker run -p 9092:9092` clients on the host reach (as in
# Kafka, advertising 0.0.0.0 is an error). Elsewhere pass --advertise, or listeners and
# advertised.listeners with --override.
CMD ["broker", "--listen", "0.0.0.0:9092", "--advertise", "127.0.0.1:9092", "--data-dir", "/var/lib/sluice/data"]
