# Gatehouse container image: a static binary (CGO off) and the example
# WebAssembly modules, on a distroless base, running as a non-root user.
#
#   docker build -t gatehouse .
#   docker run -p 7007:7007 -p 9464:9464 -v $PWD/app-config.yaml:/etc/gatehouse/app-config.yaml gatehouse
#
# `make docker-steps` runs these same steps without Docker
# (scripts/docker-steps.sh): keep each RUN on one line and each COPY
# to plain paths, which is all that script interprets.

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/usr/local/bin/gatehouse .
RUN mkdir -p /out/usr/share/gatehouse/modules && for d in examples/wasm/*/; do GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o /out/usr/share/gatehouse/modules/$(basename $d).wasm ./$d || exit 1; done
RUN mkdir -p /out/etc/gatehouse && cp -r examples/dev /out/etc/gatehouse/examples-dev

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/usr/local/bin/gatehouse /usr/local/bin/gatehouse
COPY --from=build /out/usr/share/gatehouse/modules /usr/share/gatehouse/modules
COPY --from=build /out/etc/gatehouse /etc/gatehouse
# distroless' nonroot user.
USER 65532:65532
WORKDIR /etc/gatehouse
# 7007: the auth routes (backend.listen); 9464: /metrics, /healthz and
# /readyz (gatehouse.metrics.listen).
EXPOSE 7007 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/gatehouse", "healthcheck", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["serve", "--config", "/etc/gatehouse/app-config.yaml"]
