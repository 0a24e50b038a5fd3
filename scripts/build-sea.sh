#!/usr/bin/env bash
# Builds out/cavra: one self-contained executable (Node single executable application).
# It holds the same bundles and code caches as the npm package (dist/, made by
# `npm run build`) as assets, and a small main script (build/sea-main.cjs) that starts them as
# bin/run.js does; the code caches fit because the executable is this very node.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/manifest.json ]; then
  echo "dist/ is not built: run npm run build first (npm run build:binary does both)." >&2
  exit 1
fi
mkdir -p out
npx esbuild build/sea-main.cjs --bundle --platform=node --target=node20 --format=cjs --minify \
  --log-level=warning --outfile=out/sea-main.cjs
# Every bundle, code cache and the manifest of dist/, under their names in dist/.
node -e '
  const { readdirSync } = require("node:fs")
  const assets = {}
  for (const dir of ["", "vendor/"])
    for (const name of readdirSync(`dist/${dir}`))
      if (/\.cjs(\.\w+)?\.cache$|\.cjs$|^manifest\.json$/.test(name)) assets[dir + name] = `dist/${dir}${name}`
  const config = {
    main: "out/sea-main.cjs",
    output: "out/sea-prep.blob",
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    assets,
  }
  process.stdout.write(JSON.stringify(config, null, 2))
' > out/sea-config.json
node --experimental-sea-config out/sea-config.json
cp "$(command -v node)" out/cavra
chmod u+w out/cavra
npx postject out/cavra NODE_SEA_BLOB out/sea-prep.blob \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" || true
echo "built out/cavra ($(du -h out/cavra | cut -f1))"
