/**
 * The layers of src/ and what each may import (ARCHITECTURE.md, "Layers"). Imports run
 * downwards only; test/unit/layers.test.ts fails on any import against this table or any
 * cycle. Keep the table and ARCHITECTURE.md equal: the test compares them.
 */
const LAYERS = {
  common: [],
  delivery: ['common'],
  events: ['common'],
  metadata: ['common', 'delivery'],
  connectors: ['common', 'delivery', 'events'],
  config: ['common', 'connectors'],
  flow: ['common', 'delivery', 'events', 'metadata', 'connectors', 'config'],
  cli: ['common', 'delivery', 'events', 'metadata', 'connectors', 'config', 'flow'],
  server: ['common', 'delivery', 'events', 'metadata', 'connectors', 'config', 'flow'],
  commands: ['common', 'delivery', 'events', 'metadata', 'connectors', 'config', 'flow', 'cli', 'server'],
}

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only ${allowed.length > 0 ? allowed.join(', ') : 'itself'} (and packages)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: [`^src/${layer}/`, ...allowed.map((name) => `^src/${name}/`)] },
}))

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'entry-points',
      comment: 'the files at the top of src/ are entry points: nothing in a layer imports them',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'no module may depend on itself through others, type imports included',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
}

// Not enumerable, so the configuration validator ignores it; the layering test reads it.
Object.defineProperty(module.exports, 'LAYERS', { value: LAYERS, enumerable: false })
