#!/usr/bin/env bash
# A real single-node Kubernetes for the e2e suite (test/e2e-node/operator.e2e.test.ts), inside one
# network namespace that nothing else uses: etcd, kube-apiserver, containerd, kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy (iptables mode) and CoreDNS. Kubernetes is
# built from the k8s.io/kubernetes Go module (tools/build-kube.sh), CoreDNS from its Go module
# (tools/build-coredns.sh), both cached under ~/.cache/sluice by version; containerd, runc, the CNI
# plugins, iptables and conntrack are Debian's. No registry: every image is imported with
# `ctr images import` (the pause, CoreDNS, etcd and kcat images are made from host binaries by
# mkimage.sh, the Sluice image is the project's Dockerfile built by Docker and `docker save`d).
#
#   test/e2e-node/node.sh check     # exit 0 when a node can run here; else the reason, exit 1
#   test/e2e-node/node.sh prepare   # build and collect binaries and images (cached), start nothing
#   test/e2e-node/node.sh up        # prepare, start the node, wait until it is Ready and DNS answers
#   test/e2e-node/node.sh down      # stop and remove everything `up` made; idempotent, also after a
#                                   # killed run (CI's exit trap calls it)
#   test/e2e-node/node.sh status    # what runs
#
# Addresses (only inside the namespace): node 10.250.0.2, pods 10.244.0.0/24 (bridge cni0),
# Services 10.96.0.0/16 (kubernetes 10.96.0.1, DNS 10.96.0.10). The namespace has no link to the
# host: tools reach the API through `nsenter --net=/run/netns/sluice-node` (in-node.sh runs a
# command there with the cluster's DNS), the test harness through a relay on a unix socket.
# Everything runs as root. One node per machine: the names below are fixed, and `up` refuses to
# start while another owner's node runs (SLUICE_NODE_OWNER: a PID that owns the node; a dead owner's
# leftovers are removed first).
#
# What it changes outside its own directories, and puts back in `down`: kubelet sets six kernel
# sysctls (vm.overcommit_memory, vm.panic_on_oom, kernel.panic, kernel.panic_on_oops,
# kernel.keys.root_maxkeys/maxbytes; saved by `up`, restored by `down`), cgroups under
# /sys/fs/cgroup/*/sluice-node, the namespace /run/netns/sluice-node, /var/log/containers links.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
NETNS=sluice-node
NETNS_PATH=/run/netns/$NETNS
RUN=/run/sluice-node
DATA="${SLUICE_NODE_DATA:-/var/lib/sluice-node}"
CGROUP_ROOT=sluice-node
NODE_NAME=sluice-e2e-node
NODE_IP=10.250.0.2
POD_CIDR=10.244.0.0/24
POD_GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
# The Sluice image: built by Docker from the project's Dockerfile (tools/check-docker-image.sh, the
# same tag CI builds in the background; SLUICE_DOCKER_CONTEXT: another build context), imported as
# localhost/sluice:e2e.
DOCKER_IMAGE="${SLUICE_DOCKER_IMAGE:-sluice:dev}"
SLUICE_IMAGE=localhost/sluice:e2e
FIXED_DIRS=(/run/containerd /var/lib/cni /var/log/containers /run/netns)
SYSCTLS=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes)
KUBE_BIN="$CACHE/kube-node-$KUBE_VERSION"
APISERVER_BIN="$CACHE/kube-apiserver-$KUBE_VERSION/kube-apiserver"
COREDNS_BIN="$CACHE/coredns-$COREDNS_VERSION/coredns"
CTR=(ctr --address "$RUN/containerd/containerd.sock" --namespace k8s.io)

t0=$(date +%s)
say() { echo "[node +$(($(date +%s) - t0))s] $*" >&2; }
die() {
  echo "node.sh: $*" >&2
  exit 1
}
in_ns() { nsenter --net="$NETNS_PATH" "$@"; }

# ---- check: can a node run here? ------------------------------------------------------------------
why_not() {
  [[ "$(uname -s)" == Linux ]] || { echo "not Linux"; return; }
  [[ $EUID -eq 0 ]] || { echo "not root (the node needs network namespaces, mounts and cgroups)"; return; }
  local c
  for c in ip nsenter unshare setsid flock openssl curl iptables conntrack containerd containerd-shim-runc-v2 runc ctr gcc; do
    command -v "$c" >/dev/null || { echo "$c is not installed (apt-get install iproute2 util-linux openssl curl iptables conntrack containerd runc containernetworking-plugins gcc)"; return; }
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] ||
    { echo "CNI plugins missing in /usr/lib/cni (apt-get install containernetworking-plugins)"; return; }
  [[ -f /usr/lib/x86_64-linux-gnu/libc.a || -n "$(gcc -print-file-name=libc.a | grep /)" ]] ||
    { echo "no static libc for the pause binary (apt-get install libc6-dev)"; return; }
  [[ -x /usr/bin/etcd ]] || { echo "etcd is not installed (apt-get install etcd-server)"; return; }
  unshare --net true 2>/dev/null || { echo "cannot create a network namespace here"; return; }
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || { echo "no cgroup filesystem"; return; }
  if ! built; then command -v go >/dev/null || { echo "Kubernetes is not built and go is not installed"; return; }; fi
  command -v docker >/dev/null || { echo "no docker CLI to build the Sluice image (apt-get install docker.io)"; return; }
  command -v dockerd >/dev/null || timeout 10 docker info >/dev/null 2>&1 ||
    { echo "no Docker engine to build the Sluice image (apt-get install docker.io)"; return; }
}

built() {
  [[ -x "$APISERVER_BIN" && -x "$KUBE_BIN/kubelet" && -x "$KUBE_BIN/kube-proxy" && -x "$KUBE_BIN/kube-scheduler" &&
    -x "$KUBE_BIN/kube-controller-manager" && -x "$COREDNS_BIN" ]]
}

# ---- prepare: binaries and images (cached by version) ---------------------------------------------
IMAGES_DIR="$CACHE/e2e-node-images"

prepare() {
  say "Kubernetes $KUBE_VERSION and CoreDNS $COREDNS_VERSION (built once, cached under $CACHE)"
  "$REPO/tools/build-kube.sh" kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet >/dev/null
  "$REPO/tools/build-coredns.sh" >/dev/null
  mkdir -p "$IMAGES_DIR"
  # pause: Kubernetes' own pause.c from the module cache, static (no libc in the image).
  local pause_c tmp
  pause_c="$(GOFLAGS=-mod=mod go env GOMODCACHE 2>/dev/null)/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
  if [[ ! -f "$IMAGES_DIR/pause-$KUBE_VERSION.tar" ]]; then
    [[ -f "$pause_c" ]] || (cd "$CACHE/kube-build-$KUBE_VERSION" && GOFLAGS=-mod=mod go mod download k8s.io/kubernetes)
    tmp="$(mktemp -d /tmp/sluice-pause.XXXXXX)"
    gcc -Os -static -DVERSION="$KUBE_VERSION-sluice" -o "$tmp/pause" "$pause_c"
    strip "$tmp/pause"
    "$HERE/mkimage.sh" "$IMAGES_DIR/pause-$KUBE_VERSION.tar" localhost/pause:e2e '["/pause"]' "$tmp/pause=/pause"
    rm -rf "$tmp"
  fi
  image_from_host localhost/coredns:e2e '["/coredns"]' "$COREDNS_BIN=/coredns"
  # The managed etcd of a KafkaCluster runs `/bin/sh -c "exec etcd ..."`: Debian's etcd and dash.
  image_from_host localhost/etcd:e2e '["/usr/bin/etcd"]' /usr/bin/etcd /bin/sh /bin/dash
  # kcat in a pod: produce and consume from inside the cluster network, through the pod's DNS.
  image_from_host localhost/kcat:e2e '["/usr/bin/kcat"]' /usr/bin/kcat /bin/sh /bin/dash /usr/bin/seq \
    /usr/bin/sed /usr/bin/wc /usr/bin/cat /usr/bin/sleep
  sluice_image "${1:-}"
  say "binaries and images ready"
}

# A small image from host files (mkimage.sh), cached under a key of its inputs: the files' contents
# and the image writer itself.
image_from_host() {
  local ref="$1" entrypoint="$2" name key
  shift 2
  name="${ref#localhost/}"
  name="${name%%:*}"
  key="$({ cat "$HERE/mkimage.sh"; echo "$ref $entrypoint $*"; for f in "$@"; do sha256sum "${f%%=*}"; done; } | sha256sum | cut -c1-16)"
  [[ -f "$IMAGES_DIR/$name-$key.tar" ]] && return 0
  rm -f "$IMAGES_DIR/$name"-*.tar
  "$HERE/mkimage.sh" "$IMAGES_DIR/$name-$key.tar" "$ref" "$entrypoint" "$@"
}

# The Sluice image from the project's Dockerfile. CI has already built it in the background
# (tools/docker-prepare.sh), so this build is a layer-cache hit. Starts a Docker engine only when
# none answers, and stops that one again at once. With SAVE_TO, `docker save`s it there.
sluice_image() {
  local save_to="$1" engine_dir=""
  if ! timeout 10 docker info >/dev/null 2>&1; then
    engine_dir="$RUN-docker"
    mkdir -p "$engine_dir"
    "$REPO/tools/docker-engine.sh" start "$engine_dir" || die "no Docker engine to build the Sluice image"
  fi
  say "building $DOCKER_IMAGE from the Dockerfile (a cache hit when CI built it already)"
  if ! IMAGE="$DOCKER_IMAGE" CONTEXT="${SLUICE_DOCKER_CONTEXT:-$REPO}" "$REPO/tools/check-docker-image.sh" --build-only >"$DATA-image-build.log" 2>&1; then
    tail -n 30 "$DATA-image-build.log" >&2
    [[ -n "$engine_dir" ]] && "$REPO/tools/docker-engine.sh" stop "$engine_dir"
    die "building the Sluice image failed (log: $DATA-image-build.log)"
  fi
  [[ -z "$save_to" ]] || docker save -o "$save_to" "$DOCKER_IMAGE"
  if [[ -n "$engine_dir" ]]; then
    "$REPO/tools/docker-engine.sh" stop "$engine_dir"
    rm -rf "$engine_dir"
  fi
}

# ---- processes ------------------------------------------------------------------------------------
# Each component runs inside the namespace in its own session (a Ctrl-C in the caller's terminal or
# a killed test runner does not reach it: `down` stops it by PID, in order).
start() {
  local name="$1"
  shift
  nsenter --net="$NETNS_PATH" setsid "$@" </dev/null >>"$DATA/logs/$name.log" 2>&1 &
  echo $! >"$RUN/pids/$name.pid"
}

# Nothing needs a graceful stop (the data is thrown away): a short grace, then SIGKILL.
stop() {
  local name="$1" f="$RUN/pids/$1.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    local t=$SECONDS
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 12); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) did not stop in 3s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    elif ((SECONDS - t > 2)); then
      say "$name stopped in $((SECONDS - t))s"
    fi
  fi
  rm -f "$f"
}

alive() { [[ -f "$RUN/pids/$1.pid" ]] && kill -0 "$(cat "$RUN/pids/$1.pid")" 2>/dev/null; }

wait_for() {
  local what="$1" timeout="$2" name="$3"
  shift 3
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$name" ]] && ! alive "$name"; then
      tail -n 40 "$DATA/logs/$name.log" >&2
      die "$name exited while waiting for $what (log: $DATA/logs/$name.log)"
    fi
    if (($(date +%s) > deadline)); then
      [[ -n "$name" ]] && tail -n 40 "$DATA/logs/$name.log" >&2
      die "timed out after ${timeout}s waiting for $what"
    fi
    sleep 0.5
  done
}

api_get() {
  in_ns curl -sf --max-time 5 --cacert "$DATA/pki/ca.crt" -H "Authorization: Bearer $(cat "$DATA/pki/admin.token")" \
    "https://$NODE_IP:6443$1"
}

# ---- PKI: one CA, the apiserver's serving cert, a service-account key pair, one admin token --------
pki() {
  local d="$DATA/pki"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=sluice-e2e-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
    printf 'subjectAltName=IP:%s,IP:%s,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost\n' \
      "$API_SERVICE_IP" "$NODE_IP" >san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 2 -extfile san.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    openssl rand -hex 16 >admin.token
    echo "$(cat admin.token),admin,admin,system:masters" >tokens.csv
    chmod 600 ./*.key tokens.csv admin.token
  )
  cat >"$DATA/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: sluice-e2e
    cluster:
      server: https://$NODE_IP:6443
      certificate-authority: $d/ca.crt
users:
  - name: admin
    user:
      token: $(cat "$d/admin.token")
contexts:
  - name: sluice-e2e
    context: { cluster: sluice-e2e, user: admin }
current-context: sluice-e2e
EOF
}

fill() {
  sed -e "s|@DATA@|$DATA|g" -e "s|@RUN@|$RUN|g" -e "s|@POD_CIDR@|$POD_CIDR|g" -e "s|@POD_GATEWAY@|$POD_GATEWAY|g" \
    -e "s|@DNS_IP@|$DNS_IP|g" -e "s|@NODE_IP@|$NODE_IP|g" "$1"
}

# ---- up -------------------------------------------------------------------------------------------
up() {
  local reason
  reason="$(why_not)"
  [[ -z "$reason" ]] || die "cannot run a node here: $reason"
  local owner="${SLUICE_NODE_OWNER:-manual}"
  if [[ -f "$RUN/owner" ]]; then
    local prev
    prev="$(cat "$RUN/owner")"
    if [[ "$prev" == manual ]] || kill -0 "$prev" 2>/dev/null; then
      die "a node is already up (owner: $prev); run '$0 down' first"
    fi
    say "removing the leftovers of a run whose owner ($prev) is gone"
  fi
  down_quiet
  # Everything the node writes (etcd, containerd's images and snapshots, kubelet's volumes, logs)
  # lives on a tmpfs: fast on a busy disk, and `down` removes it with one unmount.
  mkdir -p "$RUN/pids" "$DATA"
  mount -t tmpfs -o "size=${SLUICE_NODE_TMPFS_SIZE:-8g},mode=0755" sluice-node-data "$DATA"
  mkdir -p "$DATA/logs" "$DATA/cni-conf" "$DATA/pod-logs"
  echo "$owner" >"$RUN/owner"
  for s in "${SYSCTLS[@]}"; do echo "$s=$(cat "/proc/sys/$s")"; done >"$RUN/sysctls.saved"
  # Directories containerd, the CNI plugins and kubelet make at fixed paths (shim sockets, the CNI
  # result cache, links to container logs): `down` removes the ones that were not there before.
  for d in "${FIXED_DIRS[@]}"; do [[ -e "$d" ]] && echo "$d"; done >"$RUN/preexisting"

  prepare "$DATA/sluice-image.tar"

  say "network namespace $NETNS: node $NODE_IP, pods $POD_CIDR, Services $SERVICE_CIDR"
  ip netns add "$NETNS"
  in_ns ip link set lo up
  # A veth pair with both ends inside: the node's address lives on a real (non-loopback) interface
  # and nothing connects the namespace to the host.
  in_ns ip link add node0 type veth peer name node1
  in_ns ip addr add "$NODE_IP/24" dev node0
  in_ns ip link set node1 up
  in_ns ip link set node0 up
  # Local processes (the test's clients, the apiserver) need a route to the Service addresses for
  # their packets to reach kube-proxy's DNAT; on-link through node0, whose peer answers for nothing,
  # so any other destination fails at once (no neighbour) instead of leaving the namespace.
  in_ns ip route add default dev node0
  in_ns sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.conf.all.route_localnet=1
  for ctl in /sys/fs/cgroup/*/; do
    [[ -f "$ctl/cgroup.procs" && ! -d "$ctl$CGROUP_ROOT" ]] || continue
    mkdir "$ctl$CGROUP_ROOT"
    # A new cpuset is empty; give it the parent's CPUs and memory nodes.
    if [[ -f "$ctl/cpuset.cpus" ]]; then
      cat "$ctl/cpuset.cpus" >"$ctl$CGROUP_ROOT/cpuset.cpus"
      cat "$ctl/cpuset.mems" >"$ctl$CGROUP_ROOT/cpuset.mems"
    fi
  done

  pki
  fill "$HERE/manifests/containerd.toml" >"$DATA/containerd.toml"
  fill "$HERE/manifests/10-bridge.conflist" >"$DATA/cni-conf/10-bridge.conflist"
  fill "$HERE/manifests/kubelet-config.yaml" >"$DATA/kubelet-config.yaml"
  echo "# the e2e node: no upstream DNS; CoreDNS answers cluster names only" >"$DATA/resolv.conf"
  echo "nameserver $NODE_IP" >>"$DATA/resolv.conf"
  # What in-node.sh puts in front of commands run in the namespace.
  printf 'nameserver %s\nsearch svc.cluster.local cluster.local\noptions ndots:5 timeout:2 attempts:3\n' "$DNS_IP" >"$RUN/resolv.conf"

  say "etcd, kube-apiserver, containerd"
  start etcd /usr/bin/etcd --name sluice-node --data-dir "$DATA/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster sluice-node=http://127.0.0.1:2380 --log-level warn --logger zap
  start containerd containerd --config "$DATA/containerd.toml"
  wait_for "etcd" 60 etcd in_ns curl -sf http://127.0.0.1:2379/health
  local p="$DATA/pki"
  start kube-apiserver "$APISERVER_BIN" --etcd-servers=http://127.0.0.1:2379 --secure-port=6443 \
    --bind-address=0.0.0.0 --advertise-address="$NODE_IP" --tls-cert-file="$p/apiserver.crt" \
    --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt" --token-auth-file="$p/tokens.csv" \
    --authorization-mode=Node,RBAC --service-account-key-file="$p/sa.pub" \
    --service-account-signing-key-file="$p/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
    --kubelet-preferred-address-types=InternalIP --endpoint-reconciler-type=lease --v=1
  wait_for "containerd" 60 containerd "${CTR[@]}" version
  say "importing images"
  import_images &
  local import_pid=$!
  wait_for "kube-apiserver /readyz" 120 kube-apiserver api_get /readyz

  say "kubelet, kube-controller-manager, kube-scheduler, kube-proxy"
  start kubelet "$KUBE_BIN/kubelet" --config="$DATA/kubelet-config.yaml" --kubeconfig="$DATA/kubeconfig" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$DATA/kubelet" \
    --cert-dir="$DATA/kubelet/pki" --v=1
  start kube-controller-manager "$KUBE_BIN/kube-controller-manager" --kubeconfig="$DATA/kubeconfig" \
    --authentication-kubeconfig="$DATA/kubeconfig" --authorization-kubeconfig="$DATA/kubeconfig" \
    --root-ca-file="$p/ca.crt" --service-account-private-key-file="$p/sa.key" \
    --use-service-account-credentials=true --leader-elect=false --bind-address=127.0.0.1 \
    --service-cluster-ip-range="$SERVICE_CIDR" --cluster-name=sluice-e2e --v=1
  start kube-scheduler "$KUBE_BIN/kube-scheduler" --kubeconfig="$DATA/kubeconfig" \
    --authentication-kubeconfig="$DATA/kubeconfig" --authorization-kubeconfig="$DATA/kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --v=1
  start kube-proxy "$KUBE_BIN/kube-proxy" --kubeconfig="$DATA/kubeconfig" --proxy-mode=iptables \
    --hostname-override="$NODE_NAME" --cluster-cidr="$POD_CIDR" --conntrack-max-per-core=0 \
    --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256 --v=1
  wait "$import_pid" || die "importing the images failed (log: $DATA/logs/import.log)"

  say "waiting for the node to be Ready, then CoreDNS"
  fill "$HERE/manifests/coredns.yaml" >"$DATA/coredns.yaml"
  (cd "$REPO" && in_ns node --import tsx "$HERE/node-ready.ts" --kubeconfig "$DATA/kubeconfig" \
    --node "$NODE_NAME" --apply "$DATA/coredns.yaml" --dns "$DNS_IP") ||
    { status >&2; die "the node did not become Ready (logs: $DATA/logs)"; }
  say "node up: KUBECONFIG=$DATA/kubeconfig (inside the namespace: $HERE/in-node.sh CMD)"
}

import_images() {
  {
    local f
    for f in "$IMAGES_DIR"/pause-"$KUBE_VERSION".tar "$IMAGES_DIR"/coredns-*.tar "$IMAGES_DIR"/etcd-*.tar \
      "$IMAGES_DIR"/kcat-*.tar; do
      [[ -f "$f" ]] && "${CTR[@]}" images import "$f"
    done
    # docker save names it docker.io/library/<name>; the pods use localhost/sluice:e2e.
    local src
    "${CTR[@]}" images import "$DATA/sluice-image.tar"
    src="$("${CTR[@]}" images ls -q | grep -E "(^|/)${DOCKER_IMAGE%%:*}:${DOCKER_IMAGE#*:}$" | head -1)"
    "${CTR[@]}" images tag --force "$src" "$SLUICE_IMAGE"
    rm -f "$DATA/sluice-image.tar"
  } >>"$DATA/logs/import.log" 2>&1
}

# ---- down -----------------------------------------------------------------------------------------
down_quiet() { down_all 2>/dev/null || true; }

down_all() {
  local name
  # Whatever the harness started in the namespace (Prometheus, the relay), then the control loops
  # (nothing recreates a pod while the containers go), then kubelet.
  if [[ -d "$RUN/pids" ]]; then
    for f in "$RUN"/pids/*.pid; do
      [[ -e "$f" ]] || continue
      name="$(basename "$f" .pid)"
      case "$name" in etcd | kube-apiserver | containerd | kubelet | kube-proxy | kube-scheduler | kube-controller-manager) ;; *) stop "$name" ;; esac
    done
  fi
  for name in kube-proxy kube-scheduler kube-controller-manager kubelet; do stop "$name"; done
  # Every container and sandbox through containerd, then containerd itself.
  if [[ -S "$RUN/containerd/containerd.sock" ]] && alive containerd; then
    local t c
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s KILL "$t" >/dev/null 2>&1 || true; done
    for _ in $(seq 1 20); do
      [[ -z "$("${CTR[@]}" tasks ls -q 2>/dev/null | head -1)" ]] && break
      for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1 || true; done
      sleep 0.25
    done
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  for name in kube-apiserver etcd containerd; do stop "$name"; done
  say "processes stopped"
  # A killed run's processes: anything still in the node's cgroups (containers whose shim was
  # killed), and the shims that belong to this containerd (matched by its socket path).
  local pids
  pids="$(find /sys/fs/cgroup/*/"$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null || true)"
  pids+=" $(pgrep -f -- "-address $RUN/containerd/containerd.sock" || true)"
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  # Mounts: pod volumes and sandbox network namespaces, container root filesystems, /dev/shm.
  awk -v a="$DATA/" -v b="$RUN/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/mounts |
    sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  say "unmounted"
  if [[ -e "$NETNS_PATH" ]]; then ip netns delete "$NETNS" 2>/dev/null || true; fi
  # Cgroups, deepest first (rmdir removes only empty ones; every process in them is gone).
  for ctl in /sys/fs/cgroup/*/; do
    if [[ -d "$ctl$CGROUP_ROOT" ]]; then find "$ctl$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  # kubelet's links to container logs, the CNI plugins' results for our pods (they name our
  # namespaces), and those fixed directories if this node made them.
  find /var/log/containers -maxdepth 1 -type l -lname "$DATA/*" -delete 2>/dev/null || true
  { grep -l -s -r -F "$RUN/" /var/lib/cni/results 2>/dev/null || true; } | xargs -r rm -f
  if [[ -f "$RUN/preexisting" ]]; then
    for d in "${FIXED_DIRS[@]}"; do
      # Only what is empty now: another containerd (dockerd's) shares /run/containerd/s.
      grep -qxF "$d" "$RUN/preexisting" && continue
      # `ip netns add` bind-mounts /run/netns onto itself.
      if [[ "$d" == /run/netns && -z "$(ls -A /run/netns 2>/dev/null)" ]] && mountpoint -q /run/netns; then
        umount /run/netns 2>/dev/null || true
      fi
      find "$d" -depth -type d -empty -delete 2>/dev/null || true
    done
  fi
  if [[ -f "$RUN/sysctls.saved" ]]; then
    while IFS='=' read -r s v; do
      [[ "$(cat "/proc/sys/$s")" == "$v" ]] || echo "$v" >"/proc/sys/$s"
    done <"$RUN/sysctls.saved"
  fi
  say "cgroups and links removed"
  rm -rf "$RUN" "$RUN-docker"
  if [[ -n "${SLUICE_NODE_KEEP_LOGS:-}" && -d "$DATA/logs" ]]; then
    mkdir -p "$SLUICE_NODE_KEEP_LOGS" && cp -r "$DATA/logs/." "$SLUICE_NODE_KEEP_LOGS/" && say "logs kept in $SLUICE_NODE_KEEP_LOGS"
  fi
  if mountpoint -q "$DATA"; then umount "$DATA" || umount -l "$DATA"; fi
  rm -rf --one-file-system "$DATA"
  rm -f "$DATA-image-build.log"
}

down() {
  # A test run passes its PID as SLUICE_NODE_OWNER: it stops only its own node (or a dead owner's
  # leftovers), never one another live run started. Without it (CI's exit trap, a developer), down
  # stops whatever node there is.
  if [[ -n "${SLUICE_NODE_OWNER:-}" && -f "$RUN/owner" ]]; then
    local owner
    owner="$(cat "$RUN/owner")"
    if [[ "$owner" != "$SLUICE_NODE_OWNER" ]] && { [[ "$owner" == manual ]] || kill -0 "$owner" 2>/dev/null; }; then
      echo "node.sh: the node belongs to $owner, not $SLUICE_NODE_OWNER: leaving it up" >&2
      exit 3
    fi
  fi
  say "stopping the node"
  down_all
  local left
  left="$(leftovers)"
  [[ -z "$left" ]] || die "left behind: $left"
  say "node down, nothing left"
}

# What `down` must have removed; empty when clean.
leftovers() {
  local out=()
  [[ -e "$NETNS_PATH" ]] && out+=("netns $NETNS")
  [[ -e "$RUN" ]] && out+=("$RUN")
  [[ -e "$DATA" ]] && out+=("$DATA")
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do [[ -d "$d" ]] && out+=("cgroup $d"); done
  grep -qE " ($DATA|$RUN)[/ ]" /proc/mounts && out+=("mounts under $DATA or $RUN")
  pgrep -f -- "-address $RUN/containerd/containerd.sock" >/dev/null && out+=("containerd shims")
  echo "${out[*]}"
}

status() {
  local name
  for f in "$RUN"/pids/*.pid; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f" .pid)"
    if alive "$name"; then echo "$name: running (pid $(cat "$f"))"; else echo "$name: exited"; fi
  done
  [[ -e "$NETNS_PATH" ]] && echo "netns $NETNS present"
  return 0
}

case "${1:-}" in
  check)
    reason="$(why_not)"
    [[ -z "$reason" ]] || { echo "$reason"; exit 1; }
    ;;
  prepare)
    prepare
    ;;
  up) up ;;
  down) down ;;
  leftovers) leftovers ;;
  status) status ;;
  *)
    echo "usage: $0 check|prepare|up|down|status" >&2
    exit 2
    ;;
esac
