import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const servicenow = defineConnector({
  provider: 'servicenow',
  category: 'itsm',
  title: 'ServiceNow',
  docs: 'https://www.servicenow.com/docs/bundle/zurich-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html',
  settings: {
    api: z.enum(['table', 'change']).optional(),
    table: z.string().min(1).optional(),
    change_model: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    assignment_group: z.string().min(1).optional(),
    category: z.string().min(1).optional(),
    correlation_display: z.string().min(1).optional(),
    dedupe: z.boolean().optional(),
  },
  secrets: ['password', 'token'],
  urlIsSecret: false,
  configure: notAvailable('ServiceNow'),
  deliver: neverDelivers,
})
