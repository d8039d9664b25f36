# genoflight in a container: the Rust core is compiled once in the build stage, the runtime
# image holds Python, the wheel and nothing else. Used by docker-compose.yml.
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build && /opt/build/bin/pip install "maturin>=1.8,<2"
WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY catalog catalog
COPY udfs udfs
COPY server server
RUN /opt/build/bin/maturin build --release --out /wheels

FROM python:3.11-slim-bookworm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 genoflight
USER genoflight
# Flight SQL, HTTP admin API.
EXPOSE 50051 8080
# SIGTERM: stop accepting, let running queries finish (server.shutdown_grace_s), exit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["genoflight"]
CMD ["serve", "/data", "--host", "0.0.0.0", "--admin-port", "8080"]
