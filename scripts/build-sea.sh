#!/usr/bin/env bash
# Builds out/cavra: one self-contained executable (Node single executable application).
# Node 20 runs an embedded main script only as CommonJS, so the bundle is CJS; oclif's
# optional `require('typescript')` is left out (never reached in production); the banner
# turns off oclif's engine check (it would require package.json from disk) and sets
# --liftoff-only so undici's WASM parser does not delay exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
npx esbuild build/entry.ts --bundle --platform=node --target=node20 --format=cjs --minify \
  --external:typescript \
  --banner:js="process.env.OCLIF_DISABLE_ENGINE_WARNING??='1';require('node:v8').setFlagsFromString('--liftoff-only');" \
  --log-level=warning \
  --outfile=out/cavra.cjs
node --experimental-sea-config sea-config.json
cp "$(command -v node)" out/cavra
chmod u+w out/cavra
npx postject out/cavra NODE_SEA_BLOB out/sea-prep.blob \
  --sentinel-fuse NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2 2>&1 | grep -v "Can't find string offset" || true
echo "built out/cavra ($(du -h out/cavra | cut -f1))"
