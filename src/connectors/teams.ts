import { neverDelivers, notAvailable } from './shared/pending.js'
import { defineConnector } from './types.js'

export const teams = defineConnector({
  provider: 'teams',
  category: 'chatops',
  title: 'Microsoft Teams',
  docs: 'https://learn.microsoft.com/connectors/teams/',
  settings: {},
  secrets: [],
  urlIsSecret: true,
  configure: notAvailable('Microsoft Teams'),
  deliver: neverDelivers,
})
