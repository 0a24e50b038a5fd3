import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const slack = defineConnector({
  provider: 'slack',
  category: 'chatops',
  title: 'Slack',
  docs: 'https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks',
  settings: {},
  secrets: [],
  urlIsSecret: true,
  configure: notAvailable('Slack'),
  deliver: neverDelivers,
})
