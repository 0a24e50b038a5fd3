import { JsonFileStore } from './json-store.js'
import type { MetadataStore } from './metadata-store.js'

export const DEFAULT_METADATA_PATH = '.cavra/evidence/metadata.json'

export function metadataPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.CAVRA_METADATA_JSON ?? DEFAULT_METADATA_PATH
}

/** The store at a path; `notify` hears about repairs (an interrupted append moved aside). */
export function openStore(path: string, notify?: (message: string) => void): MetadataStore {
  return new JsonFileStore(path, notify)
}
