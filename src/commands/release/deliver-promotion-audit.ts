import { releaseAuditCommand } from '../../cli/release-delivery.js'

export default releaseAuditCommand({
  kind: 'promotion',
  summary: 'Deliver a release promotion execution as a high-severity audit event.',
  description:
    'Validates FILE (rollout-promotion-execution.json; errors name the JSON path and exit 4 before anything is sent), delivers the audit event (event_id = execution_id, severity high) to the SIEM, chat, ITSM and webhook connectors, writes the evidence to .cavra/release/promotion-audit-deliveries and indexes it in the metadata store.',
  examples: [
    '<%= config.bin %> release deliver-promotion-audit release/rollout-promotion-execution.json',
    '<%= config.bin %> release deliver-promotion-audit rollout-promotion-execution.json --provider jira,slack --json',
  ],
  file: 'rollout-promotion-execution.json',
})
