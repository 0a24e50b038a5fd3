import { isJsonObject } from '../../common/json-value.js'
/** A response body as a JSON object, or undefined when it is not one (HTML error pages, empty bodies). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return isJsonObject(value) ? value : undefined
  } catch {
    return undefined
  }
}
