# etl and datagen in one small image. Build: docker build -t etl .
# Stage 1 builds static binaries; stage 2 is distroless, runs as non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/etl ./cmd/etl \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/datagen ./cmd/datagen \
 && mkdir -p /out/data/events /out/data/archive /out/data/quarantine

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/etl /out/datagen /usr/local/bin/
COPY --chown=nonroot:nonroot --from=build /out/data /app/data
COPY configs /app/configs
COPY sql/postgres_setup.sql /app/sql/postgres_setup.sql
USER nonroot:nonroot
ENV EVENTS_DIR=/app/data/events ARCHIVE_DIR=/app/data/archive QUARANTINE_DIR=/app/data/quarantine
ENTRYPOINT ["etl"]
CMD ["run", "configs/ecommerce.yaml", "--log-format", "json"]
