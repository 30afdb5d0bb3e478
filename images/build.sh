#!/usr/bin/env bash
# Build the service images without a Docker daemon, as OCI images assembled from the locked
# release binaries with umoci, then export each as an archive `docker load` and
# `kind load image-archive` accept (docker-archive via skopeo) and check it.
#
#   images/build.sh           build into ${VENUS_IMAGES_OUT:-$CARGO_TARGET_DIR/images}
#   images/build.sh --check   build, then check every image (also what `make test` runs)
#   VENUS_IMAGE_PROFILE=image-check   binaries from the `image-check` cargo profile: release
#                             behaviour (no debug assertions or overflow checks) without its
#                             link-time optimisation; `make test` uses it, published images
#                             keep the default `release`
#
# The images are the same as images/Dockerfile's targets: the binary in /usr/local/bin, a
# distroless-style runtime (the binary's shared libraries, CA certificates, passwd/group with
# the nonroot user 65532), HOME=/data as the one volume, the OCI labels. The list of images,
# binaries and ports is images/images.tsv; the check also holds the Dockerfile to it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
out=${VENUS_IMAGES_OUT:-$CARGO_TARGET_DIR/images}
check=0; [ "${1:-}" = "--check" ] && check=1

version=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="venus-operator"][0])')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
registry=${VENUS_IMAGE_REGISTRY:-docker.io/venusrs}
created=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)

log() { echo "images: $*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "installing $2"; apt-get install -y -q "$2" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "$2" >/dev/null; }; }; }
need umoci umoci
need skopeo skopeo

mapfile -t rows < <(grep -v '^#' images/images.tsv | grep -v '^\s*$')
bins=()
for row in "${rows[@]}"; do IFS=$'\t' read -r _ bin _ <<<"$row"; bins+=("$bin"); done

profile=${VENUS_IMAGE_PROFILE:-release}
log "$profile build of ${bins[*]}"
cargo build --profile "$profile" --locked $(printf -- '--bin %s ' "${bins[@]}")
bindir=$CARGO_TARGET_DIR/$profile

rm -rf "$out"; mkdir -p "$out"
layout=$out/oci

# The runtime filesystem shared by every image: what distroless/cc gives, taken from this
# (Debian) build host so the binary's glibc matches.
base=$out/base-rootfs
mkdir -p "$base"/{etc,tmp,data,usr/local/bin,etc/ssl/certs}
chmod 1777 "$base/tmp"
cat >"$base/etc/passwd" <<'P'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/data:/sbin/nologin
P
cat >"$base/etc/group" <<'G'
root:x:0:
nonroot:x:65532:
G
echo 'hosts: files dns' >"$base/etc/nsswitch.conf"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/certs/"
copy_libs() { # the shared libraries a binary loads, with the dynamic loader
  ldd "$1" | awk '/=>/ {print $3} /^\s*\/.*ld-linux/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ -e "$lib" ] || continue
    mkdir -p "$2$(dirname "$lib")"; cp -L "$lib" "$2$lib"
  done
}

umoci init --layout "$layout"
for row in "${rows[@]}"; do
  IFS=$'\t' read -r image bin ports <<<"$row"
  tag="$image-$version"
  log "assembling $registry/$image:$version"
  umoci new --image "$layout:$tag"
  bundle=$out/bundle-$image
  umoci unpack --rootless --image "$layout:$tag" "$bundle" >/dev/null
  cp -a "$base/." "$bundle/rootfs/"
  chown 65532:65532 "$bundle/rootfs/data" 2>/dev/null || true
  install -m 0755 "$bindir/$bin" "$bundle/rootfs/usr/local/bin/$bin"
  copy_libs "$bindir/$bin" "$bundle/rootfs"
  umoci repack --image "$layout:$tag" "$bundle" >/dev/null
  rm -rf "$bundle"
  args=(--image "$layout:$tag" --config.user 65532:65532 --config.workingdir /data
        --config.env HOME=/data --config.volume /data
        --config.entrypoint "/usr/local/bin/$bin" --config.cmd ""
        --created "$created" --author venus-rs
        --config.label "org.opencontainers.image.title=$image"
        --config.label "org.opencontainers.image.source=https://github.com/venus-rs/venus-rs"
        --config.label "org.opencontainers.image.version=$version"
        --config.label "org.opencontainers.image.revision=$revision"
        --config.label "org.opencontainers.image.licenses=MIT OR Apache-2.0"
        --manifest.annotation "org.opencontainers.image.ref.name=$registry/$image:$version")
  [ "$ports" != "-" ] && for p in $ports; do args+=(--config.exposedports "$p/tcp"); done
  umoci config "${args[@]}"
  skopeo copy -q "oci:$layout:$tag" "docker-archive:$out/$image-$version.tar:$registry/$image:$version"
done
umoci gc --layout "$layout"

[ $check = 1 ] || { log "images in $out"; exit 0; }

# --- checks -----------------------------------------------------------------------------
fail() { log "CHECK FAILED: $*"; exit 1; }
sizes=$out/sizes.txt; : >"$sizes"
for row in "${rows[@]}"; do
  IFS=$'\t' read -r image bin ports <<<"$row"
  tag="$image-$version"
  grep -q "^FROM runtime AS $image\$" images/Dockerfile || fail "images/Dockerfile has no target $image"
  if [ "$ports" != "-" ]; then
    grep -A4 "^FROM runtime AS $image\$" images/Dockerfile | grep -q "^EXPOSE $ports\$" \
      || fail "images/Dockerfile target $image does not EXPOSE $ports"
  fi
  cfg=$(skopeo inspect --config "docker-archive:$out/$image-$version.tar")
  python3 - "$image" "$bin" "$ports" "$version" <<PY || fail "$image config"
import json, sys
image, binary, ports, version = sys.argv[1:]
cfg = json.loads('''$cfg''')["config"]
user = cfg.get("User", "")
assert user and user.split(":")[0] not in ("", "0", "root"), f"user is {user!r}, must be non-root"
assert cfg["Entrypoint"] == [f"/usr/local/bin/{binary}"], cfg["Entrypoint"]
want = set() if ports == "-" else {f"{p}/tcp" for p in ports.split()}
assert set(cfg.get("ExposedPorts", {})) == want, cfg.get("ExposedPorts")
assert "/data" in cfg.get("Volumes", {}), cfg.get("Volumes")
assert cfg["Labels"]["org.opencontainers.image.version"] == version
assert "HOME=/data" in cfg.get("Env", [])
PY
  # Self-contained: the unpacked root filesystem alone runs the binary.
  rootfs=$out/check-$image
  umoci raw unpack --rootless --image "$layout:$tag" "$rootfs" >/dev/null
  got=$(chroot "$rootfs" "/usr/local/bin/$bin" --version 2>&1) || fail "$image: chroot $bin --version: $got"
  echo "$got" | grep -q "$version" || fail "$image: --version printed '$got', not $version"
  rm -rf "$rootfs"
  size=$(stat -c %s "$out/$image-$version.tar")
  printf '%s\t%s\t%d MiB\t%s\n' "$registry/$image:$version" "user $(echo "$cfg" | python3 -c 'import json,sys;print(json.load(sys.stdin)["config"]["User"])')" $((size / 1048576)) "$got" | tee -a "$sizes"
done
log "all ${#rows[@]} images checked; archives and sizes in $out"
