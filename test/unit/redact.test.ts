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
