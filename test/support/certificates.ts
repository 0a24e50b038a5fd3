import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Self-signed RSA certificates made at test time with openssl, as an app registration's
 * certificate credential: the certificate to upload to Entra and the PEM file cavra reads
 * (certificate and private key, the key optionally encrypted). No key is checked in.
 */

export interface TestCertificate {
  /** The certificate alone, as uploaded to the app registration. */
  certificatePem: string
  /** The private key as written in the credential file (encrypted when a passphrase was given). */
  keyPem: string
  /** The credential file cavra reads: certificate, then key. */
  path: string
}

export function makeCertificate(dir: string, name: string, passphrase?: string): TestCertificate {
  const key = join(dir, `${name}.key.pem`)
  const cert = join(dir, `${name}.cert.pem`)
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key)
  openssl('req', '-x509', '-new', '-key', key, '-out', cert, '-days', '2', '-subj', `/CN=cavra-${name}`)
  let keyPem = readFileSync(key, 'utf8')
  if (passphrase !== undefined) {
    const encrypted = join(dir, `${name}.key.enc.pem`)
    openssl(
      'pkcs8',
      '-topk8',
      '-in',
      key,
      '-out',
      encrypted,
      '-v2',
      'aes-256-cbc',
      '-passout',
      `pass:${passphrase}`,
    )
    keyPem = readFileSync(encrypted, 'utf8')
  }
  const certificatePem = readFileSync(cert, 'utf8')
  const path = join(dir, `${name}.credential.pem`)
  writeFileSync(path, `${certificatePem}${keyPem}`)
  return { certificatePem, keyPem, path }
}

/** The base64 lines of a PEM block: what a leaked key would look like in any text. */
export function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 32 && !line.startsWith('-----'))
}
