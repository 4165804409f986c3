#!/usr/bin/env bash
# Copies the image's build context to OUT: the tree minus what .dockerignore excludes at the top
# level (docker applies .dockerignore again when it builds from the copy). For building from a stable
# snapshot while the tree changes: CI builds the image in the background while `npm install`
# rewrites package-lock.json. Layers cache by content, so a later build from the tree itself is a
# cache hit when nothing changed.
#   tools/docker-context.sh OUT
set -euo pipefail
out="$(realpath -m "${1:?usage: $0 OUT}")"
cd "$(dirname "$0")/.."
mkdir -p "$out"
excludes=(--exclude=./.git)
if [[ -f .dockerignore ]] && ! grep -q '^[[:space:]]*!' .dockerignore; then
  # Only top-level patterns (no '/'), anchored at the root as docker matches them. With exceptions
  # (!pattern) in .dockerignore, copy everything and let docker sort it out.
  while IFS= read -r p; do
    excludes+=(--exclude="./$p")
  done < <(sed -e 's/[[:space:]]*$//' .dockerignore | grep -v -e '^#' -e '^$' -e '/')
fi
tar -C . --anchored --no-wildcards-match-slash "${excludes[@]}" -cf - . | tar -C "$out" -xf -
