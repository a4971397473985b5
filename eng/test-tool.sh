#!/usr/bin/env bash
# Proves docs/getting-started.md §2 works before publication, with the packed packages alone: runs the commands of its
# marked block as they are (a new console app whose nuget.config names the local feed, `dotnet add package` of the SDK,
# `dotnet tool install` of Stefna.Cli, `stefna --help`, `stefna generate neo-glitch` on the embedded default), in a
# temp folder outside this repository, then checks what they printed and wrote.
#
#   STEFNA_FEED=DIR STEFNA_VERSION=V eng/test-tool.sh     uses packages already packed there (eng/test-third-party.sh)
#   eng/test-tool.sh                                      packs src/ and the CLI itself (eng/pack.sh) into a fresh feed
#
# Exits non-zero on failure. Bounded: the block runs under `timeout`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/eng/package-cache.sh"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

work="$(mktemp -d "${TMPDIR:-/tmp}/stefna-tool.XXXXXX")"
packed_here=0
export STEFNA_VERSION="${STEFNA_VERSION:-0.1.0-tool.$(date -u +%Y%m%d%H%M%S).$$}"
cleanup() {
  rm -rf "$work"
  if [ "$packed_here" = 1 ]; then
    clear_cached_stefna_version "$STEFNA_VERSION"
  fi
  return 0
}
trap cleanup EXIT

if [ -z "${STEFNA_FEED:-}" ]; then
  STEFNA_FEED="$work/feed"
  packed_here=1
  echo "tool: packing version $STEFNA_VERSION into $STEFNA_FEED"
  timeout 1200 "$root/eng/pack.sh" "$STEFNA_VERSION" "$STEFNA_FEED"
fi
export STEFNA_FEED="$(cd "$STEFNA_FEED" && pwd)" STEFNA_REPO="$root"
[ -f "$STEFNA_FEED/Stefna.Cli.$STEFNA_VERSION.nupkg" ] || { echo "tool: Stefna.Cli.$STEFNA_VERSION.nupkg is not in $STEFNA_FEED" >&2; exit 1; }

# The block of docs/getting-started.md between its two markers, fences dropped: the documented commands, unchanged.
block="$(awk '/<!-- eng\/test-tool.sh runs/{on=1; next} /<!-- end of the block eng\/test-tool.sh runs/{on=0} on && !/^```/' docs/getting-started.md)"
grep -q 'dotnet tool install' <<<"$block" || { echo "tool: no marked block with 'dotnet tool install' in docs/getting-started.md" >&2; exit 1; }
printf '%s\n' "$block" | sed 's/^/tool: | /'

echo "tool: running the block in $work"
(cd "$work" && timeout 900 bash -euo pipefail -c "$block") >"$work/out.txt" 2>"$work/err.txt" || {
  echo "tool: the documented commands failed" >&2; tail -n 40 "$work/out.txt" "$work/err.txt" >&2; exit 1; }

app="$work/my-stefna-app"
fail() { echo "tool: $1" >&2; tail -n 40 "$work/out.txt" >&2; exit 1; }
for id in Stefna.Sdk Stefna.Generators.NeoGlitch Stefna.Sdk.Sqlite Stefna.Sdk.Providers.Offline; do
  grep -q "\"$id/$STEFNA_VERSION\"" "$app/obj/project.assets.json" || fail "$id $STEFNA_VERSION was not restored from the feed"
done
[ -x "$app/tools/stefna" ] || fail "dotnet tool install made no ./tools/stefna"
grep -q '^Usage:' "$work/out.txt" && grep -qE '^  generate ' "$work/out.txt" || fail "stefna --help printed no usage with the generate command"
grep -qE '^status +completed$' "$work/out.txt" || fail "stefna generate did not complete"
url="$(sed -n 's/^imageUrl  *\(file:\/\/.*\)$/\1/p' "$work/out.txt")"
[ -n "$url" ] && [ -s "${url#file://}" ] || fail "stefna generate printed no imageUrl of a written file: '${url}'"
case "${url#file://}" in "$app"/stefna-data/images/*) ;; *) fail "the image is not under the app's ./stefna-data: $url" ;; esac
echo "tool: Stefna.Cli $STEFNA_VERSION installed from the local feed; stefna --help and stefna generate neo-glitch work (${url##*/})"
