#!/usr/bin/env bash
# Regenerates PublicAPI.Unshipped.txt of src/ projects from their current public surface (PublicApiAnalyzers RS0016).
#
#   eng/update-public-api.sh                 # every project under src/ (including ones added later)
#   eng/update-public-api.sh src/Stefna.Sdk  # only the named projects (folders or .csproj files)
#
# For each project it makes sure PublicAPI.Shipped.txt exists (never edits it: a shipped API that disappears stays an
# RS0017 error, because removing it is a breaking change to decide on), resets PublicAPI.Unshipped.txt and lets the
# analyzer's code fix write every public symbol that Shipped does not list; entries are then sorted. Ends with a build
# check of those projects (warnings as errors) unless --no-verify is given. Needs only the .NET SDK.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

verify=1
args=()
for a in "$@"; do
  case "$a" in
    --no-verify) verify=0 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) args+=("$a") ;;
  esac
done

projects=()
if [ ${#args[@]} -eq 0 ]; then
  for p in src/*/*.csproj; do [ -f "$p" ] && projects+=("$p"); done
else
  for a in "${args[@]}"; do
    if [ -d "$a" ]; then
      for p in "$a"/*.csproj; do [ -f "$p" ] && projects+=("$p"); done
    elif [ -f "$a" ]; then
      projects+=("$a")
    else
      echo "update-public-api: no such project: $a" >&2; exit 2
    fi
  done
fi
[ ${#projects[@]} -gt 0 ] || { echo "update-public-api: no project found" >&2; exit 2; }

for p in "${projects[@]}"; do
  dir="$(dirname "$p")"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/stefna-public-api.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# One `dotnet format` per project (a few seconds each): over a whole solution the code fix reaches only some projects.
for p in "${projects[@]}"; do
  for pass in 1 2 3; do
    dotnet format analyzers "$p" --diagnostics RS0016 --severity info --verbosity quiet || true
    # The code fix can leave symbols for another round when many land in one file; stop once nothing is left.
    if dotnet format analyzers "$p" --diagnostics RS0016 --severity info --verify-no-changes --no-restore --verbosity quiet >/dev/null 2>&1; then
      break
    fi
  done
done

for p in "${projects[@]}"; do
  dir="$(dirname "$p")"
  # Keep the header first and the entries sorted (ordinal), so diffs stay small and merges clean.
  { echo '#nullable enable'; { grep -v '^#nullable enable$' "$dir/PublicAPI.Unshipped.txt" || true; } | sed '/^[[:space:]]*$/d' | LC_ALL=C sort -u; } > "$work/u.txt"
  cp "$work/u.txt" "$dir/PublicAPI.Unshipped.txt"
  echo "update-public-api: $dir: $(($(wc -l < "$dir/PublicAPI.Unshipped.txt") - 1)) unshipped entries"
done

if [ "$verify" = 1 ]; then
  echo "update-public-api: verifying (build with warnings as errors)"
  dotnet new sln --name PublicApi --output "$work" --format sln >/dev/null
  dotnet sln "$work/PublicApi.sln" add "${projects[@]/#/$root/}" >/dev/null
  dotnet build "$work/PublicApi.sln" --nologo --verbosity quiet -p:TreatWarningsAsErrors=true
fi
