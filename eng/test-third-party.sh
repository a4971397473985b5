#!/usr/bin/env bash
# Proves a third party can build a generation type on the PACKED packages alone: packs every src/ project with a
# unique prerelease version into a clean local feed, makes sure no cached copy of that version exists, then restores,
# builds and tests samples/Stefna.Samples.ThirdPartyGenerator against exactly those packages, then runs eng/test-template.sh
# (the dotnet new stefna-type template) and eng/test-tool.sh (the stefna dotnet tool, getting-started §2) on the same feed.
# Exits non-zero on failure.
#
#   eng/test-third-party.sh
#
# Environment (all optional):
#   STEFNA_THIRD_PARTY_VERSION  the version to pack (default 0.1.0-ci.<UTC timestamp>.<pid>, new every run)
#   TEST_RESULTS_DIR            where the .trx goes (default artifacts/third-party/test-results)
#   NUGET_PACKAGES              the global packages folder, if not ~/.nuget/packages
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

version="${STEFNA_THIRD_PARTY_VERSION:-0.1.0-ci.$(date -u +%Y%m%d%H%M%S).$$}"
work="$root/artifacts/third-party"
feed="$work/feed"
results="${TEST_RESULTS_DIR:-$work/test-results}"
sample="$root/samples/Stefna.Samples.ThirdPartyGenerator"
tests="$sample/tests/Contoso.RetroPoster.Tests/Contoso.RetroPoster.Tests.csproj"

# Removes any copy of this run's Stefna packages from the global packages folder (eng/package-cache.sh).
source "$root/eng/package-cache.sh"
clear_cache() { clear_cached_stefna_version "$version"; }
trap clear_cache EXIT

rm -rf "$feed"
mkdir -p "$feed" "$results" "$root/artifacts/packages" # the sample's nuget.config also lists artifacts/packages
clear_cache

echo "third-party: packing version $version into $feed"
"$root/eng/pack.sh" "$version" "$feed"

echo "third-party: restoring the sample against the packed packages"
dotnet restore "$tests" -p:StefnaVersion="$version" -p:RestoreAdditionalProjectSources="$feed" --force-evaluate

# Check that what was restored is the packed version, not something else that happened to match.
assets="$sample/tests/Contoso.RetroPoster.Tests/obj/project.assets.json"
for id in Stefna.Sdk Stefna.Sdk.Testing Stefna.Sdk.Sqlite Stefna.Sdk.Providers.Offline Stefna.Sdk.Providers.AimlApi Stefna.Generators.CustomPrompt; do
  grep -q "\"$id/$version\"" "$assets" || { echo "third-party: $id $version was not restored" >&2; exit 1; }
done

echo "third-party: testing"
dotnet test "$tests" --no-restore -p:StefnaVersion="$version" --logger "trx;LogFileName=third-party.trx" --results-directory "$results"

# The `dotnet new stefna-type` template, from the same packed feed: makes Acme.Sticker and runs the kit on it (xunit v3).
echo "third-party: the stefna-type template"
STEFNA_TEMPLATE_FEED="$feed" STEFNA_TEMPLATE_VERSION="$version" TEST_RESULTS_DIR="$results" "$root/eng/test-template.sh"

# The stefna CLI as a dotnet tool and docs/getting-started.md §2, from the same packed feed.
echo "third-party: the stefna tool and getting-started §2"
STEFNA_FEED="$feed" STEFNA_VERSION="$version" "$root/eng/test-tool.sh"
