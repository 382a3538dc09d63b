#!/usr/bin/env bash
# Re-create src/earshot/web/static/vendor/ from the npm registry (pinned in
# web-assets/package-lock.json). The result is committed, so a fresh clone works
# without npm; the server never loads anything from another host.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
assets="$root/web-assets"
vendor="$root/src/earshot/web/static/vendor"
cd "$assets"
npm ci --no-audit --no-fund --ignore-scripts
nm="$assets/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor"/{htmx,wavesurfer,leaflet/images,chartjs,topojson,world-atlas,fonts,swagger-ui}
cp "$nm/htmx.org/dist/htmx.min.js" "$vendor/htmx/"
cp "$nm/wavesurfer.js/dist/wavesurfer.min.js" "$vendor/wavesurfer/"
cp "$nm/wavesurfer.js/dist/plugins/timeline.min.js" "$vendor/wavesurfer/"
cp "$nm/leaflet/dist/leaflet.js" "$nm/leaflet/dist/leaflet.css" "$vendor/leaflet/"
cp "$nm/leaflet/dist/images/"*.png "$vendor/leaflet/images/"
cp "$nm/chart.js/dist/chart.umd.min.js" "$vendor/chartjs/"
cp "$nm/topojson-client/dist/topojson-client.min.js" "$vendor/topojson/"
cp "$nm/world-atlas/countries-50m.json" "$vendor/world-atlas/"
# /api/docs: only the bundle and its stylesheet (no standalone preset, no source maps)
cp "$nm/swagger-ui-dist/swagger-ui-bundle.js" "$nm/swagger-ui-dist/swagger-ui.css" "$vendor/swagger-ui/"
for f in "$nm/@fontsource/ibm-plex-sans/files/ibm-plex-sans-"{latin,cyrillic}-{400,600}-normal.woff2; do
  cp "$f" "$vendor/fonts/"
done
for pkg in htmx.org wavesurfer.js leaflet chart.js topojson-client world-atlas @fontsource/ibm-plex-sans swagger-ui-dist; do
  dir="$vendor/licenses/$pkg"
  mkdir -p "$dir"
  cp "$nm/$pkg"/LICEN[CS]E* "$dir/" 2>/dev/null || true
done
{
  echo "# Vendored browser assets: package version licence (from npm; see scripts/vendor_assets.sh)"
  for pkg in htmx.org wavesurfer.js leaflet chart.js topojson-client world-atlas @fontsource/ibm-plex-sans swagger-ui-dist; do
    node -e 'const p=require(process.argv[1]+"/package.json");console.log(p.name, p.version, p.license)' "$nm/$pkg"
  done
  echo "# world-atlas countries-50m.json: Natural Earth country borders (public domain)"
} > "$vendor/VERSIONS.txt"
echo "vendored into $vendor"
