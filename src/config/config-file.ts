/** The example configuration users are pointed at when theirs is missing or wrong. */
export const EXAMPLE_CONFIG = 'examples/connectors/cavra-connectors.example.json'

/**
 * How many nodes YAML aliases (`*name`) may expand to. Each alias is resolved by copying what
 * its anchor holds, so nine levels of nine aliases ("billion laughs") become 9^9 nodes in a
 * few hundred bytes; a connector configuration reuses a value a handful of times at most. This
 * is also the `yaml` package's own default, stated here so that it cannot silently change.
 */
export const MAX_YAML_ALIAS_EXPANSION = 100

/**
 * How many aliases a YAML configuration may hold at all. The `yaml` package resolves each
 * alias by searching the document for its anchor, both while composing and in toJS(), so
 * thousands of distinct aliases cost quadratic time (20,000 take about 12 s) even when none
 * expands much; they are counted on the syntax tree, in linear time, before composing.
 */
export const MAX_YAML_ALIASES = 100
