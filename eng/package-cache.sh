# Sourced by the eng/test-*.sh scripts that pack the repository under a throwaway version.
#
# clear_cached_stefna_version VERSION
#   Removes every Stefna package of VERSION from the NuGet global packages folder ($NUGET_PACKAGES, else
#   ~/.nuget/packages), so a restore can only take that version from the fresh feed, and repeated runs do not pile up
#   versions in the cache.
clear_cached_stefna_version() {
  local cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}" d
  for d in "$cache"/stefna.*/"${1,,}"; do
    [ -d "$d" ] && rm -rf "$d"
  done
  return 0
}
