# PostgreSQL from Debian's package, for machines that cannot pull the public postgres
# image (docker/compose.local.yaml). Reads POSTGRES_USER, POSTGRES_PASSWORD and
# POSTGRES_DB on first start and keeps its cluster in /var/lib/postgresql/data,
# like postgres:16.
ARG BASE=mailrs-base:trixie
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/lib/postgresql/*/bin /usr/lib/postgresql/bin \
    && mkdir -p /var/lib/postgresql/data /run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /run/postgresql
ENV PATH=/usr/lib/postgresql/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN chmod 755 /usr/local/bin/postgres-entrypoint
USER postgres
EXPOSE 5432
CMD ["postgres-entrypoint"]
