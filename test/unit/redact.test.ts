import { describe, expect, it } from 'vitest'
import { encodingsOf, REDACTED, Redactor } from '../../src/delivery/redact.js'

describe('Redactor', () => {
  const secret = 'p@ss word/with+chars=="'

  it('scrubs a secret in its plain, base64, base64url, URL-encoded and JSON-escaped forms', () => {
    const redactor = new Redactor()
    redactor.addSecret(secret)
    const forms = encodingsOf(secret)
    for (const form of forms) {
      expect(redactor.scrub(`before ${form} after`), form).toBe(`before ${REDACTED} after`)
    }
    const inJson = JSON.stringify({ echoed: secret })
    expect(redactor.scrub(inJson)).not.toContain('p@ss')
  })

  it('scrubs derived credentials registered at run time', () => {
    const redactor = new Redactor()
    const blob = Buffer.from(`me@example.com:${secret}`).toString('base64')
    redactor.addSecret(blob)
    expect(redactor.scrub(`Authorization: Basic ${blob}`)).toBe(`Authorization: Basic ${REDACTED}`)
  })

  it('ignores values too short to be credentials', () => {
    const redactor = new Redactor()
    redactor.addSecret('ab')
    expect(redactor.scrub('a cab stand')).toBe('a cab stand')
  })

  it('redacts headers by name, by configured api key header, and by value', () => {
    const redactor = new Redactor()
    redactor.addSecret('super-secret-value')
    redactor.addSecretHeader('X-Custom-Credential')
    const headers = redactor.redactHeaders({
      Authorization: 'Splunk abc',
      Cookie: 'a=b',
      'DD-API-KEY': 'k',
      'x-auth-user': 'me',
      'webhook-signature': 'v1,xyz',
      'x-custom-credential': 'plain',
      'x-trace': 'carries super-secret-value inside',
      'content-type': 'application/json',
      'x-splunk-request-channel': 'guid',
    })
    expect(headers).toEqual({
      authorization: REDACTED,
      cookie: REDACTED,
      'dd-api-key': REDACTED,
      'x-auth-user': REDACTED,
      'webhook-signature': REDACTED,
      'x-custom-credential': REDACTED,
      'x-trace': REDACTED,
      'content-type': 'application/json',
      'x-splunk-request-channel': 'guid',
    })
  })

  it('removes user-info and query values from URLs, keeping names and paths', () => {
    const redactor = new Redactor()
    expect(
      redactor.redactUrl('https://user:pw@splunk.example.com:8088/services/collector/event?token=t&index=x'),
    ).toBe(`https://splunk.example.com:8088/services/collector/event?token=${REDACTED}&index=${REDACTED}`)
  })

  it('keeps only scheme and host of URLs that are credentials themselves', () => {
    const redactor = new Redactor()
    expect(redactor.redactUrl('https://hooks.slack.com/services/T0/B0/xyz', true)).toBe(
      `https://hooks.slack.com/${REDACTED}`,
    )
    expect(
      redactor.redactUrl(
        'https://prod-1.westus.logic.azure.com:443/workflows/1/triggers?api-version=1&sig=abc',
        true,
      ),
    ).toBe(`https://prod-1.westus.logic.azure.com/${REDACTED}`)
    expect(redactor.redactUrl('not a url', true)).toBe(REDACTED)
  })

  it('replaces longer secrets first so overlapping ones leave no fragments', () => {
    const redactor = new Redactor()
    redactor.addSecret('token-1234')
    redactor.addSecret('token-1234-extended')
    expect(redactor.scrub('x token-1234-extended y')).toBe(`x ${REDACTED} y`)
  })
})

describe('secrets inside longer encoded text and cut short', () => {
  it('scrubs a secret base64-encoded inside a longer text, at every byte alignment', () => {
    const redactor = new Redactor()
    const secret = 'canary-path-T0KEN-9f3a'
    redactor.addSecret(secret)
    for (const before of ['', '/', '/h', '/hooks/', 'Cannot POST /hooks/']) {
      for (const encoding of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${before}${secret} and more`).toString(encoding)
        const scrubbed = redactor.scrub(`echo: ${encoded}`)
        // Decoding what is left must not give the secret back, whole or its first 8 characters.
        const left = scrubbed
          .replace('echo: ', '')
          .split('REDACTED')
          .map((part) => Buffer.from(part, encoding).toString())
        expect(left.join(''), `${before} / ${encoding}`).not.toContain(secret.slice(0, 8))
      }
    }
  })

  it('scrubs the beginning of a secret that a server or an excerpt cut left behind', () => {
    const redactor = new Redactor()
    redactor.addSecret('tok_9f8e7d6c5b4a39281706')
    expect(redactor.scrub('bad token tok_9f8e7d6c5b...')).toBe('bad token REDACTED...')
    expect(redactor.scrub('bad token tok_9f8e')).toBe('bad token REDACTED')
    expect(redactor.scrub('bad token tok_9f8')).toBe('bad token tok_9f8')
    // URLs are scrubbed by their secret parts, so https:// alone is not taken for one.
    redactor.addSecret('https://hooks.example/services/T0001/B0001/abcdefghij')
    expect(redactor.scrub('see https://docs.example/page')).toBe('see https://docs.example/page')
  })

  it('finds secrets whose characters mean something in a regular expression, in texts of any size', () => {
    const redactor = new Redactor()
    const special = 'a.b*c+d?e(f)[g]{h}|i^$\\j/k-l'
    redactor.addSecret(special)
    expect(redactor.scrub(`x ${special} y`)).toBe(`x ${REDACTED} y`)
    expect(redactor.scrubWhole(`x ${special} y`)).toBe(`x ${REDACTED} y`)
    // A text matching the pattern the characters would make, but not the secret, is left alone.
    expect(redactor.scrub('x aXbbbcdde y')).toBe('x aXbbbcdde y')
    // Its beginning is scrubbed by scrub(), kept by scrubWhole().
    expect(redactor.scrub(`x ${special.slice(0, 9)} y`)).toBe(`x ${REDACTED} y`)
    expect(redactor.scrubWhole(`x ${special.slice(0, 9)} y`)).toBe(`x ${special.slice(0, 9)} y`)
    // A secret registered after a first scrub is found too.
    redactor.addSecret('second-secret-value')
    const large = `${'{"alert": "ok"},\n'.repeat(100_000)}second-secret-value`
    expect(redactor.scrub(large).endsWith(REDACTED)).toBe(true)
    expect(redactor.scrub(large.slice(0, -20))).toBe(large.slice(0, -20))
  })
})
