// Markdown-safe text lives in common/, so the HTTP API renders dashboards with the same escaping.
export { markdownText } from '../common/markdown.js'
