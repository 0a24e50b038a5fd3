import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const sentinel = defineConnector({
  provider: 'sentinel',
  category: 'siem',
  title: 'Microsoft Sentinel',
  docs: 'https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview',
  settings: {
    mode: z.enum(['logs-ingestion', 'data-collector', 'custom']).optional(),
    dcr_immutable_id: z.string().min(1).optional(),
    stream_name: z.string().min(1).optional(),
    tenant_id: z.string().min(1).optional(),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(1).optional(),
    authority_url: z.string().min(1).optional(),
    scope: z.string().min(1).optional(),
    workspace_id: z.string().min(1).optional(),
    shared_key: z.string().min(1).optional(),
    log_type: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    authorization_scheme: z.string().min(1).optional(),
    authorization: z.string().min(1).optional(),
    api_key: z.string().min(1).optional(),
    api_key_header: z.string().min(1).optional(),
  },
  secrets: ['client_secret', 'shared_key', 'token', 'authorization', 'api_key'],
  urlIsSecret: false,
  configure: notAvailable('Microsoft Sentinel'),
  deliver: neverDelivers,
})
