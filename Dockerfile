# chatarchive: the indexer (`chatarchive run`) and the dashboard (`chatarchive serve`).
# The vendor SDK library (libWeWorkFinanceSdk_C.so), the archive Secret and the private
# keys are NOT in the image: docker-compose.yml mounts them read-only.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CHATARCHIVE_DATA=/data

# libssl3 and ca-certificates: what the vendor SDK links against and HTTPS to WeCom.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin chatarchive

WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
RUN pip install -r requirements.txt
COPY chatarchive ./chatarchive
COPY indexer ./indexer
COPY analyzers ./analyzers
COPY store ./store
COPY compliance ./compliance
COPY dashboard ./dashboard
COPY mappings ./mappings
RUN pip install --no-deps '.[elasticsearch]' && mkdir -p /data && chown chatarchive /data

USER chatarchive
VOLUME ["/data"]
EXPOSE 8501
ENTRYPOINT ["chatarchive"]
CMD ["--help"]
