import type { DryRunRequest } from './evidence-types.js'
import { type Exchange, type ExchangeResult, type Exchanger, withToken } from './exchange.js'
import type { Redactor } from './redact.js'
import type { RequestLog } from './request-log.js'

/**
 * `--dry-run`: every exchange is built but not sent, and the request is kept, redacted, for
 * the user to read. A token request is shown too, once per credential, so a dry run lists
 * every call a real run would make.
 */
export class DryRunLog {
  private readonly captured: DryRunRequest[] = []
  private readonly tokensShown = new Set<string>()

  constructor(
    private readonly redactor: Redactor,
    private readonly urlIsSecret: boolean,
    private readonly requests: RequestLog,
  ) {}

  async capture<T>(spec: Exchange<T>, exchanger: Exchanger): Promise<ExchangeResult<T>> {
    if (spec.auth && !this.tokensShown.has(spec.auth.key)) {
      this.tokensShown.add(spec.auth.key)
      await spec.auth.fetch(exchanger)
    }
    const request = withToken(await spec.build(1), spec, spec.auth ? 'DRY-RUN-TOKEN' : undefined)
    this.requests.sent(request, 1, spec.primary === true)
    this.captured.push({
      step: spec.step,
      method: request.method,
      url: this.redactor.redactUrl(request.url, this.urlIsSecret),
      headers: this.redactor.redactHeaders(request.headers),
      body: this.readableBody(request.body, request.headers['content-type'] ?? ''),
    })
    return { ok: true, value: spec.dryRun, status: null, recovered: false }
  }

  get requestsCaptured(): readonly DryRunRequest[] {
    return this.captured
  }

  private readableBody(body: string | Buffer | undefined, contentType: string): unknown {
    if (body === undefined) return null
    const text = this.redactor.scrub(Buffer.from(body).toString('utf8'))
    if (!contentType.includes('json')) return text
    try {
      return JSON.parse(text)
    } catch {
      // Concatenated JSON (Splunk HEC batches) is shown as the lines it is made of.
      return text
    }
  }
}
