#!/usr/bin/env bash
# Builds images/ide and imports it into Incus as $TIDEPOOL_IDE_ALIAS, with progress: each
# phase (rootfs, node, code-server, configure, pack, import) prints its elapsed time, with a
# spinner on a terminal and a "still <phase> (45s)" line every 15 s otherwise (CI logs).
# Run by scripts/setup-host.sh (root) when the alias is missing or its tidepool.recipe
# property differs from `images/ide/build.sh --recipe`; `make image` forces a rebuild.
#
# Usage: scripts/ide-image.sh [--force] [--check]
#   --force   rebuild even when the imported image is current
#   --check   say whether a build is needed; exit 1 if it is, change nothing
# Environment (defaults):
#   TIDEPOOL_IDE_ALIAS=tidepool-ide  TIDEPOOL_IDE_WORKDIR=/var/tmp/tidepool-ide-build
#   TIDEPOOL_IDE_LOGDIR=/var/log/tidepool/ide-image
#
# On failure it names the phase, the command and its log file, and leaves no half-imported
# image: the new image is imported under a temporary alias, the real alias is switched to it
# only when it is complete (one PATCH: never a moment without the alias), and on any failure
# the new image is deleted. The previous image (if any) stays until the switch succeeded.
set -euo pipefail
# The whole script is one { } block: bash parses it before running any of it, so an edit
# of this file while it runs (a build takes minutes) cannot make it run half-old, half-new code.
{

ALIAS="${TIDEPOOL_IDE_ALIAS:-tidepool-ide}"
WORK="${TIDEPOOL_IDE_WORKDIR:-/var/tmp/tidepool-ide-build}"
LOGDIR="${TIDEPOOL_IDE_LOGDIR:-/var/log/tidepool/ide-image}"
TMP_ALIAS="$ALIAS-importing"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
recipe_dir="$repo/images/ide"

force=0 check=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ide-image: unknown argument $arg (try --help)" >&2; exit 64 ;;
  esac
done

say() { echo "setup-host: image $ALIAS: $*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The recipe hash stored in the imported image, or "" when there is none.
imported_recipe() {
  incus image show "$ALIAS" 2>/dev/null | awk '$1 == "tidepool.recipe:" { gsub(/"/, "", $2); print $2 }'
}
want="$("$recipe_dir/build.sh" --recipe)"
have="$(imported_recipe || true)"
if [ "$force" = 0 ] && [ "$have" = "$want" ]; then
  say "current (recipe $want), not rebuilding"
  exit 0
fi
if [ "$check" = 1 ]; then say "would build (recipe ${have:-none} -> $want)"; exit 1; fi
[ "$(id -u)" = 0 ] || { echo "ide-image: must run as root" >&2; exit 1; }

# One build at a time on a host (two setups at once would share WORK): wait for the other,
# then look again, since it may have imported exactly this recipe.
lock="${TIDEPOOL_IDE_LOCK:-/run/lock/tidepool-ide-image.lock}"
mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
if ! flock -n 9; then
  say "another build is running; waiting for it"
  flock 9
  have="$(imported_recipe || true)"
  if [ "$force" = 0 ] && [ "$have" = "$want" ]; then say "current (recipe $want), built meanwhile"; exit 0; fi
fi

for tool in mmdebstrap zstd npm node tar; do
  command -v "$tool" >/dev/null || { echo "ide-image: $tool is not installed (scripts/setup-host.sh installs it)" >&2; exit 1; }
done
mkdir -p "$WORK" "$LOGDIR"
# The tree is ~1.3 GB and the packed image ~350 MB; Incus copies the image once more.
free_kb="$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')"
[ "$free_kb" -ge $((4 * 1024 * 1024)) ] || { echo "ide-image: need 4 GB free in $WORK, have $((free_kb / 1024)) MB" >&2; exit 1; }

phase_pid="" new_fp="" imported_here=0
# Undo whatever a phase left: its process group, the chroot mounts, the tree, a new image.
cleanup() {
  local rc=$?
  if [ -n "$phase_pid" ] && kill -0 "$phase_pid" 2>/dev/null; then kill -TERM -- "-$phase_pid" 2>/dev/null || true; wait "$phase_pid" 2>/dev/null || true; fi
  local m
  for m in dev/pts dev sys proc; do mountpoint -q "$WORK/rootfs/$m" 2>/dev/null && umount -l "$WORK/rootfs/$m" || true; done
  if [ "$rc" != 0 ]; then
    incus image alias delete "$TMP_ALIAS" >/dev/null 2>&1 || true
    if [ "$imported_here" = 1 ] && [ -n "$new_fp" ]; then
      incus image delete "$new_fp" >/dev/null 2>&1 && say "removed the half-imported image ${new_fp:0:12}" || true
    fi
  fi
  # --one-file-system: a mount that survived would otherwise lead rm into the host's /dev.
  rm -rf --one-file-system "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spin='|/-\'
# run_phase NAME CMD...: runs CMD in its own process group with output to LOGDIR/NAME.log,
# showing progress; on failure names the phase, the command and the log, and exits.
run_phase() {
  local name="$1"; shift
  local log="$LOGDIR/$name.log" t0 t rc=0 i=0 next=15 el
  t0="$(now)"
  : > "$log"
  setsid "$@" >"$log" 2>&1 </dev/null &
  phase_pid=$!
  while kill -0 "$phase_pid" 2>/dev/null; do
    t="$(now)"; el="$(secs "$t0" "$t")"
    if [ -t 1 ]; then
      printf '\r  %s %-12s %6ss ' "${spin:i++%4:1}" "$name" "$el"
      sleep 0.2
    else
      if [ "${el%.*}" -ge "$next" ]; then echo "  still $name (${el%.*}s)"; next=$((next + 15)); fi
      sleep 1
    fi
  done
  wait "$phase_pid" || rc=$?
  phase_pid=""
  el="$(secs "$t0" "$(now)")"
  [ -t 1 ] && printf '\r\033[K'
  if [ "$rc" != 0 ]; then
    echo "setup-host: error: image $ALIAS: phase $name failed after ${el}s (exit $rc)" >&2
    echo "  command: ${PHASE_DESC:-$*}" >&2
    echo "  log: $log (last lines below)" >&2
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    exit 1
  fi
  printf '  %-12s done in %6ss\n' "$name" "$el"
}

# Runs as the import phase (a child: everything it needs is exported, new_fp computed before).
import_image() {
  local out="$WORK/out" old
  echo "fingerprint $new_fp"
  if incus image info "$new_fp" >/dev/null 2>&1; then
    echo "image $new_fp already in the store"
  else
    incus image alias delete "$TMP_ALIAS" >/dev/null 2>&1 || true
    incus image import "$out/metadata.tar.zst" "$out/rootfs.tar.zst" --alias "$TMP_ALIAS"
  fi
  # Complete only if Incus reads our recipe back from it.
  [ "$(incus image get-property "$new_fp" tidepool.recipe)" = "$want" ] || { echo "imported image does not carry tidepool.recipe=$want"; return 1; }
  old="$(incus image info "$ALIAS" 2>/dev/null | awk '$1 == "Fingerprint:" { print $2 }' || true)"
  if [ -n "$old" ]; then
    # One PATCH moves the alias: there is no moment without it.
    incus query -X PATCH "/1.0/images/aliases/$ALIAS" --data "{\"target\": \"$new_fp\"}" >/dev/null
  else
    incus image alias create "$ALIAS" "$new_fp"
  fi
  # The alias points at the new image now: nothing below may fail the phase.
  incus image alias delete "$TMP_ALIAS" >/dev/null 2>&1 || true
  if [ -n "$old" ] && [ "$old" != "$new_fp" ]; then
    # Instances keep their own copy (or btrfs snapshot) of the rootfs; the image is a cache.
    if incus image delete "$old"; then echo "removed old image ${old:0:12}"; else echo "warning: could not remove old image ${old:0:12}"; fi
  fi
}

# The phases run a copy of the recipe: bash reads a script as it runs it, so an edit of
# images/ide during a build would break it, and the image must carry the hash it was built from.
rm -rf --one-file-system "$WORK"; mkdir -p "$WORK"
cp -R "$recipe_dir" "$WORK/recipe"
build="$WORK/recipe/build.sh"
want="$("$build" --recipe)"
say "building (recipe ${have:-none} -> $want); logs in $LOGDIR"
total0="$(now)"
run_phase rootfs "$build" rootfs "$WORK"
run_phase node "$build" node "$WORK"
run_phase code-server "$build" code-server "$WORK"
run_phase configure "$build" configure "$WORK"
run_phase pack "$build" pack "$WORK"
new_fp="$(awk '$1 == "fingerprint" { print $2 }' "$LOGDIR/pack.log" | tail -n1)"
[ -n "$new_fp" ] || { echo "setup-host: error: image $ALIAS: no fingerprint in $LOGDIR/pack.log" >&2; exit 1; }
incus image info "$new_fp" >/dev/null 2>&1 || imported_here=1
export -f import_image
export WORK ALIAS TMP_ALIAS want new_fp
PHASE_DESC="incus image import $WORK/out/metadata.tar.zst $WORK/out/rootfs.tar.zst --alias $TMP_ALIAS, check its tidepool.recipe, move $ALIAS to it" \
  run_phase import bash -c import_image
imported_here=0
size="$(incus image info "$ALIAS" | awk -F': ' '$1 == "Size" { print $2 }')"
say "ready: ${new_fp:0:12}, $size, recipe $want, built in $(secs "$total0" "$(now)")s"
exit
}
