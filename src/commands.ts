import IntegrationCheck from './commands/integration/check.js'
import IntegrationDeliver from './commands/integration/deliver.js'
import MetadataExport from './commands/metadata/export.js'
import MetadataImport from './commands/metadata/import.js'
import MetadataVerify from './commands/metadata/verify.js'
import ConnectorDeliveryDashboard from './commands/release/connector-delivery-dashboard.js'
import ConnectorDeliveryHistory from './commands/release/connector-delivery-history.js'
import DeliverEndpointExport from './commands/release/deliver-endpoint-export.js'
import DeliverPromotionAudit from './commands/release/deliver-promotion-audit.js'
import DeliverRollbackExecution from './commands/release/deliver-rollback-execution.js'
import EndpointPublicationDashboard from './commands/release/endpoint-publication-dashboard.js'
import EndpointPublicationHistory from './commands/release/endpoint-publication-history.js'
import ReleaseRedeliver from './commands/release/redeliver.js'
import Serve from './commands/serve.js'

/**
 * Every command, listed explicitly so the single-binary bundle needs no directory scan.
 * oclif ids use ":"; the CLI shows them with a space.
 */
export const COMMANDS = {
  'integration:deliver': IntegrationDeliver,
  'integration:check': IntegrationCheck,
  'release:deliver-promotion-audit': DeliverPromotionAudit,
  'release:deliver-rollback-execution': DeliverRollbackExecution,
  'release:deliver-endpoint-export': DeliverEndpointExport,
  'release:connector-delivery-history': ConnectorDeliveryHistory,
  'release:connector-delivery-dashboard': ConnectorDeliveryDashboard,
  'release:endpoint-publication-history': EndpointPublicationHistory,
  'release:endpoint-publication-dashboard': EndpointPublicationDashboard,
  'release:redeliver': ReleaseRedeliver,
  'metadata:verify': MetadataVerify,
  'metadata:import': MetadataImport,
  'metadata:export': MetadataExport,
  serve: Serve,
}
