// The first load of /admin (index.html's scripts, preloads and style sheets) must stay
// under 250 KB gzipped; chunks loaded later (GraphiQL) are not counted.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const LIMIT = 250 * 1024;
const out = resolve(import.meta.dirname, '../../chrgraph/http/static/admin');
const html = readFileSync(resolve(out, 'index.html'), 'utf8');
const refs = [...html.matchAll(/(?:src|href)="\/admin\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let total = 0;
for (const ref of new Set(refs)) {
  const size = gzipSync(readFileSync(resolve(out, ref))).length;
  total += size;
  console.log(`${ref}: ${(size / 1024).toFixed(1)} KB gzipped`);
}
console.log(`first load: ${(total / 1024).toFixed(1)} KB gzipped (limit ${LIMIT / 1024} KB)`);
if (total > LIMIT) {
  console.error('The first load is over budget.');
  process.exit(1);
}
