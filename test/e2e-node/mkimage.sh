#!/usr/bin/env bash
# Writes a one-layer image as a docker-archive tarball (the `docker save` format), importable with
# `ctr -n k8s.io images import`, from host binaries: each FILE is copied to the same path in the
# image together with the shared libraries ldd lists for it. For the e2e node's small images (pause,
# CoreDNS, etcd, kcat), where there is no registry to pull from and no Docker engine is needed.
#
#   mkimage.sh OUT.tar NAME:TAG 'ENTRYPOINT_JSON' FILE...
#   mkimage.sh /tmp/pause.tar localhost/pause:e2e '["/pause"]' /tmp/build/pause=/pause
# A FILE of the form SRC=DEST puts SRC at DEST. Deterministic: same inputs, same bytes.
set -euo pipefail
out="${1:?usage: $0 OUT.tar NAME:TAG ENTRYPOINT_JSON FILE...}"
ref="${2:?}"
entrypoint="${3:?}"
shift 3

work="$(mktemp -d /tmp/sluice-mkimage.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
# Files the runtime and the programs expect: users (for `runAsUser` names), resolv.conf and hosts
# are mounted by the kubelet.
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

put() {
  local src="$1" dest="$2"
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
}
for f in "$@"; do
  src="${f%%=*}"
  dest="$src"
  [[ "$f" == *=* ]] && dest="${f#*=}"
  put "$src" "$dest"
  # Shared libraries and the dynamic loader, at the paths the binary asks for.
  while read -r lib; do
    [[ -n "$lib" && -e "$lib" && ! -e "$root$lib" ]] && put "$lib" "$lib"
  done < <(ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}')
done

# The layer, deterministic (sorted names, root owner, fixed times), and its config.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$root" -cf "$work/layer.tar" .
layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
mkdir -p "$work/image/$layer_sha"
mv "$work/layer.tar" "$work/image/$layer_sha/layer.tar"
cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$entrypoint},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sha"]},"history":[{"created_by":"test/e2e-node/mkimage.sh"}]}
JSON
config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
mv "$work/config.json" "$work/image/$config_sha.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' "$config_sha" "$ref" "$layer_sha" >"$work/image/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/image" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$out: $ref, $(du -h "$out" | cut -f1)" >&2
