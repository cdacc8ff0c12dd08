// Runs graphql-http's server audits (the GraphQL-over-HTTP spec's
// requirements) against the URL given as the first argument, prints every
// result as one JSON line, and exits 1 if any MUST fails.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/query');
  process.exit(2);
}
const results = await auditServer({ url });
let mustFailed = 0;
for (const r of results) {
  const line = { id: r.id, name: r.name, status: r.status };
  if (r.status !== 'ok') {
    line.reason = r.reason;
    line.httpStatus = r.response.status;
    line.body = await r.response.text().catch(() => '');
    if (r.name.startsWith('MUST')) mustFailed++;
  }
  console.log(JSON.stringify(line));
}
console.log(JSON.stringify({ total: results.length, ok: results.filter((r) => r.status === 'ok').length, mustFailed }));
process.exit(mustFailed > 0 ? 1 : 0);
