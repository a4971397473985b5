#!/usr/bin/env bash
# Proves the `dotnet new stefna-type` template works from the PACKED packages alone: installs Stefna.Templates into a
# private template hive, runs `dotnet new stefna-type -n Acme.Sticker` in a temp folder outside this repository (so
# none of its Directory.*.props apply), restores from the local feed plus nuget.org only, builds, and runs the
# generated xunit v3 project, which runs the SDK's conformance kit (Stefna.Sdk.Testing.XunitV3) on the new type.
#
#   eng/test-template.sh                 packs src/ and templates/ itself (eng/pack.sh) into a fresh feed
#   STEFNA_TEMPLATE_FEED=DIR STEFNA_TEMPLATE_VERSION=V eng/test-template.sh
#                                        uses packages already packed there (eng/test-third-party.sh does this)
#
# Environment (optional): TEST_RESULTS_DIR (where template.trx goes), NUGET_PACKAGES (the global packages folder).
# Exits non-zero on failure. Bounded: every dotnet step runs under `timeout`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/eng/package-cache.sh"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${STEFNA_TEMPLATE_VERSION:-0.1.0-tpl.$(date -u +%Y%m%d%H%M%S).$$}"
feed="${STEFNA_TEMPLATE_FEED:-}"
results="${TEST_RESULTS_DIR:-$root/artifacts/template/test-results}"
work="$(mktemp -d "${TMPDIR:-/tmp}/stefna-template.XXXXXX")"
packed_here=0

cleanup() {
  rm -rf "$work"
  # Only this script's own pack leaves versions to clear; a caller's feed is the caller's to clear.
  if [ "$packed_here" = 1 ]; then
    clear_cached_stefna_version "$version"
  fi
  return 0
}
trap cleanup EXIT
mkdir -p "$results"

if [ -z "$feed" ]; then
  feed="$work/feed"
  packed_here=1
  echo "template: packing version $version into $feed"
  timeout 1200 "$root/eng/pack.sh" "$version" "$feed"
fi
feed="$(cd "$feed" && pwd)"
template_pkg="$feed/Stefna.Templates.$version.nupkg"
[ -f "$template_pkg" ] || { echo "template: $template_pkg is missing" >&2; exit 1; }

hive="$work/hive"
out="$work/out"
mkdir -p "$out"
echo "template: dotnet new install $(basename "$template_pkg") (private hive)"
timeout 300 dotnet new install "$template_pkg" --debug:custom-hive "$hive" >/dev/null

echo "template: dotnet new stefna-type -n Acme.Sticker"
(cd "$out" && timeout 300 dotnet new stefna-type -n Acme.Sticker --debug:custom-hive "$hive")
project="$out/Acme.Sticker"
for f in src/Acme.Sticker/Acme.Sticker.csproj src/Acme.Sticker/StickerGenerator.cs src/Acme.Sticker/StickerBuilderExtensions.cs \
  tests/Acme.Sticker.Tests/Acme.Sticker.Tests.csproj tests/Acme.Sticker.Tests/StickerConformanceTests.cs; do
  [ -f "$project/$f" ] || { echo "template: the template did not make $f" >&2; exit 1; }
done
grep -qF "<StefnaVersion Condition=\"'\$(StefnaVersion)' == ''\">$version</StefnaVersion>" "$project/Directory.Build.props" \
  || { echo "template: Directory.Build.props does not pin the packed version $version" >&2; exit 1; }

# The packed feed and nuget.org, nothing else (no machine-wide sources).
cat > "$project/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="stefna-local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
</configuration>
XML

tests="$project/tests/Acme.Sticker.Tests/Acme.Sticker.Tests.csproj"
echo "template: restoring against the packed packages"
timeout 600 dotnet restore "$tests" --force-evaluate
assets="$project/tests/Acme.Sticker.Tests/obj/project.assets.json"
for id in Stefna.Sdk Stefna.Sdk.Testing.XunitV3; do
  grep -q "\"$id/$version\"" "$assets" || { echo "template: $id $version was not restored" >&2; exit 1; }
done
grep -q '"xunit.v3/' "$assets" || { echo "template: the test project does not use xunit v3" >&2; exit 1; }

echo "template: building and testing the generated type"
timeout 900 dotnet test "$tests" --no-restore --logger "trx;LogFileName=template.trx" --results-directory "$results"
