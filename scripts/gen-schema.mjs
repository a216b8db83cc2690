// Writes schema/config.schema.json from the zod schema (run after the build; `npm run build` does it).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../dist/config/schema.js';

const out = fileURLToPath(new URL('../schema/config.schema.json', import.meta.url));
const schema = { ...configJsonSchema(), title: 'Heimdall configuration' };
writeFileSync(out, `${JSON.stringify(schema, null, 2)}\n`);
