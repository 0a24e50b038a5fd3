/** What kind of system a connector delivers to; commands choose connectors by category. */
export type Category = 'siem' | 'chatops' | 'itsm' | 'webhook' | 'endpoint'

export const CATEGORIES: readonly Category[] = ['siem', 'chatops', 'itsm', 'webhook', 'endpoint']
