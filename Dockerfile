# The musicrec API as an image: stateless, one library folder mounted read-only at /libraries.
# Build: docker build -t musicrec .      Run N of them: see compose.yaml and docs/scale.md.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /opt/musicrec
COPY pyproject.toml README.md ./
COPY src ./src
# The milvus extra lets a replica serve a library whose index is on a Milvus server. DL3013:
# this installs the project itself; its dependencies carry the lower bounds it was tested with.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[milvus]" \
    && useradd --system --uid 10001 --no-create-home musicrec

# Nothing is written at run time: the library is read-only, the token a mounted secret.
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
ENTRYPOINT ["musicrec"]
CMD ["serve", "--library", "/libraries/library", "--host", "0.0.0.0", "--port", "8000", \
     "--token-file", "/run/secrets/musicrec_token"]
