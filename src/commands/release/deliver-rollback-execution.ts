import { releaseAuditCommand } from '../../cli/release-delivery.js'

export default releaseAuditCommand({
  kind: 'rollback',
  summary: 'Deliver a rollout rollback execution as a critical audit event.',
  description:
    'Validates FILE (rollout-rollback-execution.json; errors name the JSON path and exit 4 before anything is sent), delivers the audit event (event_id = rollback_id, severity critical) to the SIEM, chat, ITSM and webhook connectors, each saying what was rolled back, between which rings, why, and under which approval and change, writes the evidence to .cavra/release/rollback-deliveries and indexes it in the metadata store.',
  examples: [
    '<%= config.bin %> release deliver-rollback-execution release/rollout-rollback-execution.json',
    '<%= config.bin %> release deliver-rollback-execution rollout-rollback-execution.json --provider servicenow,teams --json',
  ],
  file: 'rollout-rollback-execution.json',
})
