import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { relative } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkRecordedArtifact } from '../../src/events/artifact.js'
import { Workspace } from '../support/workspace.js'

/** The check that decides whether a recorded artifact may be delivered again, on real files. */

let ws: Workspace | undefined
afterEach(() => {
  ws?.remove()
  ws = undefined
})

function workspace(): Workspace {
  ws = new Workspace('cavra-recorded-')
  return ws
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('checkRecordedArtifact', () => {
  it('accepts the file when it still holds the recorded bytes', async () => {
    const path = workspace().write('rollback.json', '{"rollback_id":"rre_1"}')
    expect(await checkRecordedArtifact(path, sha256('{"rollback_id":"rre_1"}'))).toEqual({
      usable: true,
      path,
    })
  })

  it('refuses a changed file, saying both hashes', async () => {
    const path = workspace().write('rollback.json', '{"rollback_id":"rre_2"}')
    const recorded = sha256('{"rollback_id":"rre_1"}')
    const check = await checkRecordedArtifact(path, recorded)
    expect(check).toEqual({
      usable: false,
      reason: `${path}: the artifact changed since the failed delivery (sha256 ${recorded.slice(0, 12)}… recorded, ${sha256('{"rollback_id":"rre_2"}').slice(0, 12)}… now)`,
    })
  })

  it('refuses a missing file, a folder, no path and no hash', async () => {
    const dir = workspace().dir
    expect(await checkRecordedArtifact(ws!.path('gone.json'), 'a'.repeat(64))).toEqual({
      usable: false,
      reason: `${ws!.path('gone.json')}: the artifact is missing (no such file)`,
    })
    expect(await checkRecordedArtifact(dir, 'a'.repeat(64))).toMatchObject({
      usable: false,
      reason: `${dir}: is a directory, not the recorded artifact`,
    })
    expect(await checkRecordedArtifact(null, 'a'.repeat(64))).toMatchObject({
      usable: false,
      reason: expect.stringContaining('standard input'),
    })
    const path = ws!.write('a.json', '{}')
    expect(await checkRecordedArtifact(path, null)).toMatchObject({
      usable: false,
      reason: expect.stringContaining('recorded no sha256'),
    })
  })

  it('refuses a path that is now a named pipe without waiting for a writer', async () => {
    const fifo = workspace().path('events.fifo')
    execFileSync('mkfifo', [fifo])
    const started = Date.now()
    expect(await checkRecordedArtifact(fifo, 'a'.repeat(64))).toEqual({
      usable: false,
      reason: `${fifo}: is a named pipe (FIFO), not the recorded artifact`,
    })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('takes a relative path from the current folder and gives it back absolute', async () => {
    const path = workspace().write('promotion.json', '{}')
    const check = await checkRecordedArtifact(relative(process.cwd(), path), sha256('{}'))
    expect(check).toEqual({ usable: true, path })
  })
})
