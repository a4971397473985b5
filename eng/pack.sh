#!/usr/bin/env bash
# Packs every project under src/ (including ones added later) into NuGet packages (.nupkg + .snupkg), every
# template package under templates/ (content only: no assembly, no symbols), and the CLI as a dotnet tool (Stefna.Cli,
# command `stefna`, from samples/Stefna.Samples.Console; eng/test-tool.sh installs it from the feed and runs it).
#
#   eng/pack.sh [VERSION] [OUTPUT_DIR]
#     VERSION     package version, default 0.1.0-ci
#     OUTPUT_DIR  where the packages go, default artifacts/packages
#
# Release configuration: XML docs, SourceLink, symbols (.snupkg), package validation, README and licence come from
# Directory.Build.props and eng/Library.targets. All projects build in one `dotnet pack` over a throwaway solution,
# so shared references build once. Then every package is checked (unzip): nuspec description, readme (present in the
# package), licence expression, repository url (the configured RepositoryUrl, whatever the git remote) + commit, the
# XML docs next to each assembly, and the symbol package's PDB carrying SourceLink to that repository. Needs unzip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${1:-0.1.0-ci}"
out="${2:-$root/artifacts/packages}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

projects=()
for p in src/*/*.csproj templates/*/*.csproj samples/Stefna.Samples.Console/Stefna.Samples.Console.csproj; do [ -f "$p" ] && projects+=("$root/$p"); done
[ ${#projects[@]} -gt 0 ] || { echo "pack: no project under src/" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stefna-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dotnet new sln --name Packages --output "$work" --format sln >/dev/null
dotnet sln "$work/Packages.sln" add "${projects[@]}" >/dev/null

echo "pack: ${#projects[@]} project(s), version $version -> $out"
dotnet pack "$work/Packages.sln" -c Release -o "$out" --nologo -v minimal -p:Version="$version"

# Every package must carry what a consumer relies on: nuspec metadata (description, readme, licence expression,
# repository url + commit), the README it names, the XML docs next to each assembly, and symbols with SourceLink
# pointing at the configured repository. Checked with unzip on the packed files, not trusted from the build.
repo_url="$(dotnet msbuild "${projects[0]}" -getProperty:RepositoryUrl -p:Configuration=Release)"
[ -n "$repo_url" ] || { echo "pack: RepositoryUrl is not configured" >&2; exit 1; }
raw_url="${repo_url/https:\/\/github.com\//https://raw.githubusercontent.com/}"
failed=0
fail() { echo "pack: $1" >&2; failed=1; }
for p in "${projects[@]}"; do
  id="$(sed -n 's:.*<PackageId>\([^<]*\)</PackageId>.*:\1:p' "$p" | head -n 1)"
  [ -n "$id" ] || id="$(basename "$p" .csproj)"
  nupkg="$out/$id.$version.nupkg"
  snupkg="$out/$id.$version.snupkg"
  [ -f "$nupkg" ] || { fail "missing $id.$version.nupkg"; continue; }
  template=0
  case "$p" in "$root"/templates/*) template=1 ;; esac
  [ "$template" = 1 ] || [ -f "$snupkg" ] || fail "missing $id.$version.snupkg"

  files="$(unzip -Z1 "$nupkg")"
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")" || { fail "$id: no $id.nuspec in the package"; continue; }
  nuspec="$(printf '%s' "$nuspec" | tr '\n' ' ')"
  description="$(printf '%s' "$nuspec" | sed -n 's:.*<description>\([^<]*\)</description>.*:\1:p')"
  [ -n "${description// /}" ] || fail "$id: no <description>"
  readme="$(printf '%s' "$nuspec" | sed -n 's:.*<readme>\([^<]*\)</readme>.*:\1:p')"
  if [ -z "$readme" ]; then fail "$id: no <readme>"
  elif ! grep -qxF "$readme" <<<"$files"; then fail "$id: <readme> names $readme, which is not in the package"; fi
  grep -q '<license type="expression">[^<][^<]*</license>' <<<"$nuspec" || fail "$id: no <license type=\"expression\">"
  repository="$(grep -o '<repository [^>]*>' <<<"$nuspec" || true)"
  grep -qF "url=\"$repo_url\"" <<<"$repository" || fail "$id: <repository> url is not $repo_url: ${repository:-none}"
  grep -qE 'commit="[0-9a-f]{40}"' <<<"$repository" || fail "$id: <repository> has no commit: ${repository:-none}"

  if grep -q '<PackAsTool>true</PackAsTool>' "$p"; then
    # A dotnet tool: tools/<tfm>/any/ with the command's settings (its assemblies are the tool's, not a library's).
    grep -q '<packageType name="DotnetTool"' <<<"$nuspec" || fail "$id: not a DotnetTool package"
    tool_command="$(sed -n 's:.*<ToolCommandName>\([^<]*\)</ToolCommandName>.*:\1:p' "$p" | head -n 1)"
    unzip -p "$nupkg" 'tools/*/any/DotnetToolSettings.xml' 2>/dev/null | grep -qF "Name=\"$tool_command\"" \
      || fail "$id: tools/*/any/DotnetToolSettings.xml does not name the command $tool_command"
    continue
  fi
  if [ "$template" = 1 ]; then
    # A template package: content/<template>/.template.config/template.json, stamped with this version.
    grep -q '^content/[^/]*/\.template\.config/template\.json$' <<<"$files" || fail "$id: no content/*/.template.config/template.json"
    unzip -p "$nupkg" 'content/*/.template.config/template.json' | grep -qF "\"defaultValue\": \"$version\"" \
      || fail "$id: its templates do not default to the SDK version $version"
    continue
  fi
  dlls="$(grep -E '^lib/[^/]+/[^/]+\.dll$' <<<"$files" || true)"
  [ -n "$dlls" ] || fail "$id: no assembly under lib/"
  for dll in $dlls; do
    grep -qxF "${dll%.dll}.xml" <<<"$files" || fail "$id: no XML docs ${dll%.dll}.xml next to $dll"
    if [ -f "$snupkg" ]; then
      pdb="$(unzip -p "$snupkg" "${dll%.dll}.pdb" | LC_ALL=C tr -c '[:print:]' '\n')" || pdb=""
      [ -n "$pdb" ] || { fail "$id: no ${dll%.dll}.pdb in the symbol package"; continue; }
      grep -qF "\"documents\"" <<<"$pdb" && grep -qF "$raw_url/" <<<"$pdb" \
        || fail "$id: ${dll%.dll}.pdb has no SourceLink to $raw_url"
    fi
  done
done
[ "$failed" = 0 ] || exit 1
echo "pack: checked nuspec (description, readme, licence, repository $repo_url + commit), XML docs, symbols and SourceLink"
ls -1 "$out" | grep -F ".$version." | sed 's/^/pack:   /'
