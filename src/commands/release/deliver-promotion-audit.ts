import { releaseAuditCommand } from '../../cli/release-delivery.js'

export default releaseAuditCommand({
  name: 'deliver-promotion-audit',
  summary: 'Deliver a release promotion execution as a high-severity audit event.',
  description:
    'Validates FILE (rollout-promotion-execution.json, SPEC §4.2; errors name the JSON path and exit 4 before anything is sent), delivers the audit event (event_id = execution_id, severity high) to the SIEM, chat, ITSM and webhook connectors, writes the evidence to .cavra/release/promotion-audit-deliveries and indexes it in the metadata store.',
  examples: [
    '<%= config.bin %> release deliver-promotion-audit release/rollout-promotion-execution.json',
    '<%= config.bin %> release deliver-promotion-audit rollout-promotion-execution.json --provider jira,slack --json',
  ],
  file: 'rollout-promotion-execution.json',
  outputDir: '.cavra/release/promotion-audit-deliveries',
  source: 'release_governance_promotion',
  kind: 'promotion execution',
  load: async () => {
    const { promotionEvent, promotionExecutionSchema } = await import('../../events/release.js')
    return { schema: promotionExecutionSchema, toEvent: promotionEvent as never }
  },
})
