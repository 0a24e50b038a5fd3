import { z } from 'zod'
import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const jira = defineConnector({
  provider: 'jira',
  category: 'itsm',
  title: 'Jira',
  docs: 'https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/',
  settings: {
    api_version: z.union([z.literal(2), z.literal(3), z.enum(['2', '3'])]).optional(),
    project_key: z.string().min(1).optional(),
    issue_type: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    labels: z.array(z.string()).optional(),
    priority_map: z.record(z.string(), z.string()).optional(),
    dedupe: z.boolean().optional(),
  },
  secrets: ['token'],
  urlIsSecret: false,
  configure: notAvailable('Jira'),
  deliver: neverDelivers,
})
