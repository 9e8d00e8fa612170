# Redis from Debian's package, for machines that cannot pull the public redis image
# (docker/compose.local.yaml). Same command line and data path as redis:7.
ARG BASE=mailrs-base:trixie
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && apt-get clean && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
