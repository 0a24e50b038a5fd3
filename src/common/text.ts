/**
 * Text that came from outside (a server's answer, an artifact, the store) is hostile: it may
 * carry terminal escape sequences that repaint a terminal or a CI log, bidirectional
 * overrides that reorder what a reader sees, or GitHub Actions workflow commands. These
 * functions make such text inert before it is stored or printed.
 */

/** CSI (`ESC [ … final`) and OSC (`ESC ] … BEL` or `ESC ] … ESC \`) sequences, and other two-byte escapes. */
const ESCAPE_SEQUENCE =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]?|\u009b[0-?]*[ -/]*[@-~]/g
/** C0 controls but tab and newline, DEL, C1 controls, and the Unicode bidirectional controls. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Removes escape sequences and control characters; tabs and newlines stay. */
export function stripControl(text: string): string {
  if (!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text))
    return text
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '')
}

/**
 * The GitHub runner reads `::command::` at the start of a line and `##[command]` anywhere in
 * it ("Workflow commands for GitHub Actions"); a space between the characters keeps the text
 * readable and makes it inert.
 */
export function neutraliseWorkflowCommands(text: string): string {
  if (!text.includes('::') && !text.includes('##[')) return text
  return text.replace(/^([ \t]*):(?=:)/gm, '$1: ').replace(/##\[/g, '# #[')
}

/** Outside text made safe for a terminal, a CI log, evidence and the store. */
export function inertText(text: string): string {
  return neutraliseWorkflowCommands(stripControl(text))
}

/** Whether text holds anything `stripControl` would remove (identifiers must not). */
export function hasControl(text: string): boolean {
  return stripControl(text) !== text
}
