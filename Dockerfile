# syntax=docker/dockerfile:1
# Timbre in a container: `docker compose up` runs it with PostgreSQL (pgvector),
# NATS, a one-shot migration and a worker (see docker-compose.yml).

# ---- build -------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
# cgo stays on: voice features link C libraries (sherpa-onnx, pocketsphinx, opus).
ENV CGO_ENABLED=1 GOTOOLCHAIN=auto GOFLAGS=-trimpath
# Build-time -dev packages for cgo go here when features need them.
ARG BUILD_PACKAGES="libpocketsphinx-dev libsphinxbase-dev"
RUN if [ -n "$BUILD_PACKAGES" ]; then \
      apt-get update && \
      apt-get install -y --no-install-recommends $BUILD_PACKAGES && \
      rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Shared libraries that come with Go modules rather than Debian (sherpa-onnx's
# bundled ONNX Runtime, say) are linked by an rpath into the module cache, which is
# only mounted during this step: copy them out for the runtime image here.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags='-s -w' -o /out/bin/timbre ./cmd/timbre && \
    mkdir -p /out/lib && \
    ldd /out/bin/timbre | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | \
      grep -v -E '^/(usr/)?lib/' | xargs -r cp -L -t /out/lib && \
    ls -l /out/bin /out/lib

# ---- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim
# Runtime packages (shared libraries and data of cgo features) go here.
ARG RUNTIME_PACKAGES="libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us"
RUN apt-get update && \
    apt-get install -y --no-install-recommends ca-certificates tzdata $RUNTIME_PACKAGES && \
    rm -rf /var/lib/apt/lists/* && \
    groupadd --system --gid 10001 timbre && \
    useradd --system --uid 10001 --gid timbre --home-dir /data --shell /usr/sbin/nologin timbre && \
    mkdir -p /data && chown timbre:timbre /data
COPY --from=build /out/lib/ /usr/local/lib/timbre/
RUN echo /usr/local/lib/timbre > /etc/ld.so.conf.d/timbre.conf && ldconfig
COPY --from=build /out/bin/timbre /usr/local/bin/timbre

ENV TIMBRE_ADDR=0.0.0.0:8080 \
    TIMBRE_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
USER timbre:timbre
WORKDIR /data
# No HEALTHCHECK: the slim image has no HTTP client; probe GET /healthz (process
# up) or GET /readyz from the orchestrator.
ENTRYPOINT ["timbre"]
CMD ["serve"]
