# Gatehouse container image: a static binary (CGO off) and the example
# WebAssembly modules, on a distroless base, running as a non-root user.
#
#   docker build -t gatehouse .
#   docker run -p 7007:7007 -p 9464:9464 -v $PWD/app-config.yaml:/etc/gatehouse/app-config.yaml gatehouse
#
# `make docker-steps` runs these same steps without Docker
# (scripts/docker-steps.sh): keep each RUN on one line and each COPY
# to plain paths, which is all that script interprets.

# The AssemblyScript example module, with the SDK's pinned compiler.
FROM node:20-bookworm AS asc
WORKDIR /src
COPY wasm-sdk/assemblyscript/package.json wasm-sdk/assemblyscript/package-lock.json wasm-sdk/assemblyscript/
COPY wasm-sdk/assemblyscript/assembly wasm-sdk/assemblyscript/assembly
COPY examples/wasm/catalog-groups-as examples/wasm/catalog-groups-as
RUN cd wasm-sdk/assemblyscript && npm ci --no-audit --no-fund
RUN mkdir -p /out && wasm-sdk/assemblyscript/node_modules/.bin/asc examples/wasm/catalog-groups-as/index.ts -O3 --runtime incremental --use abort= -o /out/catalog-groups.wasm

# The server, and the Go example modules (GOOS=wasip1).
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/usr/local/bin/gatehouse ./cmd/gatehouse
RUN mkdir -p /out/usr/share/gatehouse/modules && for d in examples/wasm/*/; do [ -f $d/main.go ] || continue; GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o /out/usr/share/gatehouse/modules/$(basename $d).wasm ./$d || exit 1; done
COPY --from=asc /out/catalog-groups.wasm /out/usr/share/gatehouse/modules/catalog-groups.wasm
RUN mkdir -p /out/etc/gatehouse /out/var/lib/gatehouse && cp -r examples/dev /out/etc/gatehouse/examples-dev

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/usr/local/bin/gatehouse /usr/local/bin/gatehouse
COPY --from=build /out/usr/share/gatehouse/modules /usr/share/gatehouse/modules
COPY --from=build /out/etc/gatehouse /etc/gatehouse
# The working directory is the only place the server writes (e.g. the
# default SQLite file data/gatehouse.sqlite); mount a volume there to keep it.
COPY --from=build --chown=65532:65532 /out/var/lib/gatehouse /var/lib/gatehouse
# distroless' nonroot user.
USER 65532:65532
WORKDIR /var/lib/gatehouse
# 7007: the auth routes (backend.listen); 9464: /metrics, /healthz and
# /readyz (gatehouse.metrics.listen).
EXPOSE 7007 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/gatehouse", "healthcheck", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve", "--config", "/etc/gatehouse/app-config.yaml"]
