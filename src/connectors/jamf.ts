import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const jamf = defineConnector({
  provider: 'jamf',
  category: 'endpoint',
  title: 'Jamf Pro',
  docs: 'https://developer.jamf.com/jamf-pro/docs/client-credentials',
  settings: {
    client_id: z.string().min(1).optional(),
    client_secret: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    computer_group_ids: z.array(z.union([z.number().int(), z.string()])).optional(),
    category_id: z.union([z.number().int(), z.string()]).optional(),
  },
  secrets: ['client_secret', 'password'],
  urlIsSecret: false,
  configure: notAvailable('Jamf Pro'),
  deliver: neverDelivers,
})
