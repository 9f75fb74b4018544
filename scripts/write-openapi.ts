// Regenerate docs/openapi.json from the pairing server's route schemas:
//   node --import tsx scripts/write-openapi.ts
// The file is then formatted by Biome (as `npm test` lints it); the test compares parsed JSON.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocumentText } from '../src/pairing/http/openapi-document.ts';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(target, await openApiDocumentText());
const fmt = spawnSync('npx', ['biome', 'format', '--write', target], { stdio: 'inherit' });
if (fmt.status !== 0) process.exitCode = 1;
console.log(`wrote ${target}`);
