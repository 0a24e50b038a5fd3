import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/common/canonical-json.js'

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    )
  })

  it('serialises numbers and strings as ECMAScript does (RFC 8785 §3.2.2)', () => {
    // From RFC 8785 Appendix B / §3.2.2.3 examples.
    expect(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 'é\u2028\n"'])).toBe(
      '[1e+21,1e-7,0.000001,0,333333333.3333333,"é\u2028\\n\\""]',
    )
  })

  it('orders keys by UTF-16 code units', () => {
    // RFC 8785 §3.2.3 sorting example keys.
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew',
      '1': 'One',
      '\u{1f600}': 'Emoji',
      '\u0080': 'Control',
      '\u00f6': 'o',
    }
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"o","€":"Euro Sign","\u{1f600}":"Emoji","\ufb33":"Hebrew"}',
    )
  })

  it('leaves out undefined members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}')
  })
})
