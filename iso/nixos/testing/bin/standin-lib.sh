# STAND-IN support code shared by the stand-in `nix` and `nixos-generate` in this folder. NOT the real tools:
# they honour the documented command lines and outputs (REFERENCE.md "NixOS images") so the harness's build
# flow can be tested where nixpkgs and the binary cache are unreachable.
#
# Environment:
#   STANDIN_NIX_STORE         folder used as the fake /nix/store (default: $TMPDIR/standin-nix-store)
#   STANDIN_NIX_LOG           if set, each invocation appends its argv here (one line) - lets tests count builds
#   STANDIN_NIX_FAIL          flakes | network | build : fail the way real nix does
#   STANDIN_NIX_REQUIRE_FLAG  1: behave like a nix whose nix.conf lacks flakes (the CLI flag must enable them)
#   STANDIN_NIX_STDERR_WARN   1: print the binary-cache retry warnings a machine without network sees

standin_store() {
  local store="${STANDIN_NIX_STORE:-${TMPDIR:-/tmp}/standin-nix-store}"
  mkdir -p "$store"
  printf '%s' "$store"
}

standin_log_argv() {
  if [ -n "${STANDIN_NIX_LOG:-}" ]; then printf '%s %s\n' "$(basename "$0")" "$*" >>"$STANDIN_NIX_LOG"; fi
}

# Real nix prints these warnings even on success when cache.nixos.org cannot be resolved.
standin_cache_warnings() {
  if [ "${STANDIN_NIX_STDERR_WARN:-}" = 1 ]; then
    echo "warning: error: unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve host name (6); retrying in 333 ms" >&2
    echo "warning: unable to download 'https://cache.nixos.org/nix-cache-info': Couldn't resolve host name (6)" >&2
  fi
}

# Fails like real nix when STANDIN_NIX_FAIL asks for it. $1 = the URL a real build would download first.
standin_maybe_fail() {
  local drv="$1" url="$2"
  case "${STANDIN_NIX_FAIL:-}" in
    flakes)
      echo "error: experimental Nix feature 'flakes' is disabled; use '--extra-experimental-features flakes' to override" >&2
      exit 1 ;;
    network)
      echo "warning: error: unable to download '$url': Couldn't resolve host name (6); retrying in 281 ms" >&2
      echo "error: unable to download '$url': Couldn't resolve host name (6)" >&2
      echo "(use '--show-trace' to show detailed location information)" >&2
      exit 1 ;;
    build)
      echo "building '$drv'..." >&2
      local i
      for i in $(seq 1 45); do echo "nixos.iso> standin build log line $i" >&2; done
      echo "error: builder for '$drv' failed with exit code 1;" >&2
      echo "       last 10 log lines:" >&2
      for i in $(seq 36 45); do echo "       > standin build log line $i" >&2; done
      echo "       For full logs, run 'nix log $drv'." >&2
      exit 1 ;;
  esac
}

# Parses every .nix file under $1 with the real nix-instantiate (when installed), like evaluation would.
standin_parse_all() {
  command -v nix-instantiate >/dev/null 2>&1 || return 0
  local f
  while IFS= read -r -d '' f; do
    if ! out=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
      echo "$out" >&2
      exit 1
    fi
  done < <(find "$1" -name '*.nix' -print0)
}

# Builds the fake output: <store>/<hash>-<name>/iso/<isoname> holding an ISO9660 image of the build inputs
# (a real NixOS ISO carries its configuration in the store, host key included). Prints the out path.
standin_make_output() {
  local src="$1" name="$2" isoname="$3"
  local hash store out
  hash=$(cd "$src" && find . -type f ! -path './result*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32)
  store=$(standin_store)
  out="$store/$hash-$name"
  if [ ! -d "$out" ]; then
    mkdir -p "$out.tmp/iso" "$out.tmp/inputs"
    tar -C "$src" --exclude=./result --exclude='./result-*' -cf - . | tar -C "$out.tmp/inputs" -xf -
    if command -v xorriso >/dev/null 2>&1; then
      xorriso -as mkisofs -quiet -V NIXOS_STANDIN -joliet -rock -o "$out.tmp/iso/$isoname" "$out.tmp/inputs" 2>/dev/null
    else
      (cd "$out.tmp/inputs" && find . -type f -print0 | sort -z | xargs -0 cat) >"$out.tmp/iso/$isoname"
    fi
    rm -rf "$out.tmp/inputs"
    mv "$out.tmp" "$out"
  fi
  printf '%s' "$out"
}
