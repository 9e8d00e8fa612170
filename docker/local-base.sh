#!/bin/sh
# Build the images that docker/compose.local.yaml needs on a machine that reaches a
# Debian mirror but no image registry: a Debian base with Python 3.12+ in a venv
# (trixie ships 3.13), then mailrs, Redis and PostgreSQL on top of it.
#   sudo docker/local-base.sh [mirror]     (needs debootstrap; runs as root)
set -eu
MIRROR=${1:-http://deb.debian.org/debian}
SUITE=${SUITE:-trixie}
BASE=mailrs-base:$SUITE
HERE=$(cd "$(dirname "$0")" && pwd)

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    ROOT=$(mktemp -d /var/tmp/mailrs-rootfs.XXXXXX)
    trap 'rm -rf "$ROOT"' EXIT
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$ROOT" "$MIRROR"
    chroot "$ROOT" python3 -m venv /opt/python
    # Trust what this machine trusts (e.g. a TLS-inspecting proxy's CA in front of PyPI).
    cp /etc/ssl/certs/ca-certificates.crt "$ROOT/usr/local/share/ca-certificates/host.crt"
    chroot "$ROOT" update-ca-certificates
    chroot "$ROOT" sh -c 'apt-get clean; rm -rf /var/lib/apt/lists/*'
    tar -C "$ROOT" -c . | docker import \
        --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["python3"]' - "$BASE"
fi
docker build -t mailrs:latest --build-arg "BASE=$BASE" -f "$HERE/Dockerfile" "$HERE/.."
docker build -t mailrs-redis:local --build-arg "BASE=$BASE" -f "$HERE/redis.Dockerfile" "$HERE"
docker build -t mailrs-postgres:local --build-arg "BASE=$BASE" -f "$HERE/postgres.Dockerfile" "$HERE"
