import { type KeyObject, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'

/**
 * The client assertion of a certificate credential, signed with `jose`. Loaded only when a
 * connector uses `client_certificate_file` (entra-credentials.ts imports it on demand), so no
 * other run loads the JWT library.
 *
 * Microsoft's "Microsoft identity platform application authentication certificate
 * credentials" (https://learn.microsoft.com/entra/identity-platform/certificate-credentials):
 * header `alg` PS256 with `x5t#S256`, the base64url SHA-256 of the certificate's DER (RS256
 * with the SHA-1 `x5t` is the older form); claims `aud` = the token endpoint, `iss` = `sub` =
 * the application (client) id, a unique `jti`, and `nbf` / `exp` (Entra accepts at most ten
 * minutes; five leave room for a skewed clock).
 */

export const ASSERTION_LIFETIME_SECONDS = 300

/** What signing needs of a certificate credential. */
export interface SigningCertificate {
  privateKey: KeyObject
  /** base64url SHA-256 of the certificate's DER. */
  thumbprintSha256: string
}

export async function signClientAssertion(
  certificate: SigningCertificate,
  clientId: string,
  tokenUrl: string,
  nowMs: number,
): Promise<string> {
  const now = Math.floor(nowMs / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': certificate.thumbprintSha256 })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
    .sign(certificate.privateKey)
}
