#!/usr/bin/env bash
# go-builder-image.sh: make a Go toolchain image from this machine's own Go
# installation, for Dockerfile build stages where no registry can be reached.
# The image has no shell: only the toolchain, CA certificates and /tmp.
# Idempotent: does nothing when the image for this Go version exists.
set -euo pipefail
tag=${1:-vitals/go-builder:local}
goroot=$(go env GOROOT)
version=$(go env GOVERSION)
if [ "$(docker image inspect -f '{{index .Config.Labels "go.version"}}' "$tag" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tmp" "$stage/etc/ssl/certs" "$stage/usr/local"
chmod 1777 "$stage/tmp"
cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/"
# The toolchain without what builds do not read (tests, docs).
tar -C "$(dirname "$goroot")" -cf - --exclude="$(basename "$goroot")/test" --exclude="$(basename "$goroot")/doc" \
  --exclude="$(basename "$goroot")/api" --exclude="$(basename "$goroot")/misc" "$(basename "$goroot")" |
  tar -C "$stage/usr/local" -xf -
[ "$(basename "$goroot")" = go ] || mv "$stage/usr/local/$(basename "$goroot")" "$stage/usr/local/go"
tar -C "$stage" -cf - . | docker import \
  --change 'ENV PATH=/usr/local/go/bin' \
  --change 'ENV GOCACHE=/tmp/go-cache' \
  --change 'ENV GOMODCACHE=/tmp/go-mod' \
  --change 'ENV GOTOOLCHAIN=local' \
  --change "LABEL go.version=$version" \
  - "$tag" >/dev/null
echo "built $tag ($version)"
