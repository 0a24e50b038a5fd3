#!/usr/bin/env node
import v8 from 'node:v8'
import { execute } from '@oclif/core'

// undici's llhttp WASM otherwise keeps V8 optimising for ~200 ms after the last request.
v8.setFlagsFromString('--liftoff-only')
await execute({ dir: import.meta.url })
