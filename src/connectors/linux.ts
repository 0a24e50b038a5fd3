import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const linux = defineConnector({
  provider: 'linux',
  category: 'endpoint',
  title: 'Linux fleet',
  docs: 'https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md',
  settings: {
    signing_secret: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
  },
  secrets: ['signing_secret', 'token'],
  urlIsSecret: false,
  configure: notAvailable('Linux fleet'),
  deliver: neverDelivers,
})
