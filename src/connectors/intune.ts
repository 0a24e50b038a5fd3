import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const intune = defineConnector({
  provider: 'intune',
  category: 'endpoint',
  title: 'Microsoft Intune',
  docs: 'https://learn.microsoft.com/graph/api/intune-devices-devicemanagementscript-create?view=graph-rest-beta',
  settings: {
    tenant_id: z.string().min(1).optional(),
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(1).optional(),
    authority_url: z.string().min(1).optional(),
    graph_url: z.string().min(1).optional(),
    group_id: z.string().min(1).optional(),
  },
  secrets: ['client_secret'],
  urlIsSecret: false,
  configure: notAvailable('Microsoft Intune'),
  deliver: neverDelivers,
})
