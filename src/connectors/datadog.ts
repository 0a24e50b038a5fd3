import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const datadog = defineConnector({
  provider: 'datadog',
  category: 'siem',
  title: 'Datadog Logs',
  docs: 'https://docs.datadoghq.com/api/latest/logs/send-logs/',
  settings: {
    site: z.string().min(1).optional(),
    api_key: z.string().min(1).optional(),
    api_key_header: z.string().min(1).optional(),
    service: z.string().min(1).optional(),
    ddsource: z.string().min(1).optional(),
    tags: z.array(z.string()).optional(),
    hostname: z.string().min(1).optional(),
  },
  secrets: ['api_key'],
  urlIsSecret: false,
  configure: notAvailable('Datadog Logs'),
  deliver: neverDelivers,
})
