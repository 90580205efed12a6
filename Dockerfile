# syntax=docker/dockerfile:1
#
# The `inbox` server. Build: `docker build -t inbox .` (BuildKit, the default since Docker 23).
# Run:   docker run -e INBOX_JWT_SECRET=... -e DATABASE_URL=postgres://... -p 8080:8080 inbox
# Other subcommands: `docker run ... inbox migrate`, `docker run --rm inbox openapi`.
# Without DATABASE_URL the server uses the SQLite file /var/lib/inbox/inbox.db (mount a volume
# there to keep it).

FROM rust:1-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The target directory is a cache mount, so the binary is copied out of it before the step ends.
# Touching the workspace's own sources makes sure cargo never trusts a cached artifact over a
# file whose timestamp happens to be older; dependencies stay cached.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,sharing=locked \
    find api domain persistence tests migrations -type f -exec touch {} + \
    && cargo build --release --locked -p api --bin inbox \
    && install -D -m 0755 target/release/inbox /out/inbox

FROM debian:bookworm-slim AS runtime
# libpq for PostgreSQL; SQLite is compiled into the binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 inbox \
    && useradd --system --uid 10001 --gid inbox --home-dir /var/lib/inbox --create-home \
        --shell /usr/sbin/nologin inbox
COPY --from=builder /out/inbox /usr/local/bin/inbox
USER 10001:10001
WORKDIR /var/lib/inbox
ENV INBOX_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["inbox"]
CMD ["serve"]
