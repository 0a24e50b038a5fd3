/**
 * A small, strict XML reader and writer for the documents of Jamf Pro's Classic API
 * (https://developer.jamf.com/jamf-pro/reference/classic-api): elements and text only, no
 * attributes kept, entities decoded exactly once. Anything not well-formed reads as undefined.
 */

export interface XmlElement {
  name: string
  children: Array<XmlElement | string>
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/** Escaped exactly once: the Classic API decodes once, and a second pass would store "&amp;" in names. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

export function el(name: string, ...children: Array<XmlElement | string | undefined>): XmlElement {
  return { name, children: children.filter((child) => child !== undefined) }
}

export function serializeXml(root: XmlElement): string {
  const render = (node: XmlElement, indent: string): string => {
    if (node.children.every((child) => typeof child === 'string')) {
      return `${indent}<${node.name}>${escapeXml(node.children.join(''))}</${node.name}>`
    }
    const inner = node.children.map((child) =>
      typeof child === 'string' ? `${indent}  ${escapeXml(child)}` : render(child, `${indent}  `),
    )
    return `${indent}<${node.name}>\n${inner.join('\n')}\n${indent}</${node.name}>`
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${render(root, '')}\n`
}

const XML_TOKEN =
  /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)(?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*(\/?)>|([^<]+)/y

/** The document's root element, or undefined for anything that is not well-formed. */
export function parseXml(text: string): XmlElement | undefined {
  const token = new RegExp(XML_TOKEN)
  const document: XmlElement = { name: '', children: [] }
  const open: XmlElement[] = [document]
  for (let at = 0; at < text.length; at = token.lastIndex) {
    token.lastIndex = at
    const match = token.exec(text)
    if (!match) return undefined
    const [, cdata, closing, name, selfClosing, chars] = match
    const top = open[open.length - 1]!
    if (chars !== undefined || cdata !== undefined) {
      const value = cdata ?? decodeEntities(chars!)
      if (value === undefined) return undefined
      if (open.length > 1) top.children.push(value)
      else if (value.trim() !== '') return undefined
    } else if (name !== undefined && closing) {
      if (selfClosing || open.length === 1 || top.name !== name) return undefined
      open.pop()
    } else if (name !== undefined) {
      if (open.length === 1 && document.children.length > 0) return undefined
      const element: XmlElement = { name, children: [] }
      top.children.push(element)
      if (!selfClosing) open.push(element)
    }
  }
  const root = document.children[0]
  return open.length === 1 && typeof root === 'object' ? root : undefined
}

export function decodeEntities(text: string): string | undefined {
  if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) return undefined
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
  let valid = true
  const decoded = text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (_, ref: string) => {
    if (!ref.startsWith('#')) return named[ref]!
    const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1))
    if (code > 0x10ffff) valid = false
    return valid ? String.fromCodePoint(code) : ''
  })
  return valid ? decoded : undefined
}

export function elements(node: XmlElement, name: string): XmlElement[] {
  return node.children.filter(
    (child): child is XmlElement => typeof child === 'object' && child.name === name,
  )
}

export function childText(node: XmlElement, name: string): string {
  const child = elements(node, name)[0]
  return child ? child.children.filter((c) => typeof c === 'string').join('') : ''
}
