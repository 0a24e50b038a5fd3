import wabtInit from 'wabt'

/** The binary of a WebAssembly text module, validated, without debug names. */
export async function assembleSha256(text: string): Promise<Buffer> {
  const wabt = await wabtInit()
  const module = wabt.parseWat('sha256.wat', text)
  try {
    module.validate()
    return Buffer.from(module.toBinary({ write_debug_names: false }).buffer)
  } finally {
    module.destroy()
  }
}
