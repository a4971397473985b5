#!/usr/bin/env bash
# Packs every project under src/ (including ones added later) into NuGet packages (.nupkg + .snupkg).
#
#   eng/pack.sh [VERSION] [OUTPUT_DIR]
#     VERSION     package version, default 0.1.0-ci
#     OUTPUT_DIR  where the packages go, default artifacts/packages
#
# Release configuration: XML docs, SourceLink, symbols (.snupkg), package validation, README and licence come from
# Directory.Build.props and eng/Library.targets. All projects build in one `dotnet pack` over a throwaway solution,
# so shared references build once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${1:-0.1.0-ci}"
out="${2:-$root/artifacts/packages}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

projects=()
for p in src/*/*.csproj; do [ -f "$p" ] && projects+=("$root/$p"); done
[ ${#projects[@]} -gt 0 ] || { echo "pack: no project under src/" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stefna-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet new sln --name Packages --output "$work" --format sln >/dev/null
dotnet sln "$work/Packages.sln" add "${projects[@]}" >/dev/null

echo "pack: ${#projects[@]} project(s), version $version -> $out"
dotnet pack "$work/Packages.sln" -c Release -o "$out" --nologo -v minimal -p:Version="$version"

missing=0
for p in "${projects[@]}"; do
  id="$(basename "$p" .csproj)"
  if [ ! -f "$out/$id.$version.nupkg" ]; then echo "pack: missing $id.$version.nupkg" >&2; missing=1; fi
  if [ ! -f "$out/$id.$version.snupkg" ]; then echo "pack: missing $id.$version.snupkg" >&2; missing=1; fi
done
[ "$missing" = 0 ] || exit 1
ls -1 "$out" | grep -F ".$version." | sed 's/^/pack:   /'
