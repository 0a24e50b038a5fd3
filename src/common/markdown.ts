import { stripControl } from './text.js'

/**
 * Text from the store or a server placed in GitHub-flavoured markdown (a step summary, a
 * dashboard file, an API answer): it must stay text. HTML is entity-escaped, markdown punctuation is
 * backslash-escaped where it would start a link, an image, code or a table cell, and bare URLs and `www.`
 * are broken with a zero-width space so GitHub does not turn them into links.
 */
export function markdownText(text: string): string {
  return stripControl(text)
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`[\]|])/g, '\\$1')
    .replace(/([a-z])(:\/\/)/gi, '$1\u200b$2')
    .replace(/\bwww\./gi, 'www\u200b.')
}
