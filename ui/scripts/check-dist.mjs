// Runs after `vite build`: fails the build if dist/ holds anything the app's CSP
// (default-src 'self', no 'unsafe-inline', no 'unsafe-eval') would block, so a mistake shows
// here rather than as a blank window in the app.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dist = new URL('../dist/', import.meta.url).pathname;
const files = readdirSync(dist, { recursive: true }).map(String);
const problems = [];
const check = (file, re, what) => {
  const text = readFileSync(join(dist, file), 'utf8');
  const m = text.match(re);
  if (m) problems.push(`${file}: ${what}: ${m[0].slice(0, 80)}`);
};

for (const f of files.filter((f) => f.endsWith('.html'))) {
  check(f, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline script');
  check(f, /<style[\s>]/i, 'inline <style>');
  check(f, /\sstyle\s*=/i, 'style attribute');
  check(f, /\son[a-z]+\s*=/i, 'inline event handler');
  check(f, /\s(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, 'remote URL');
}
for (const f of files.filter((f) => f.endsWith('.js'))) {
  check(f, /\bnew Function\s*\(|[^.\w]eval\s*\(/, 'eval');
  check(f, /createElement\(\s*["']style["']\s*\)/, 'JS-injected <style>');
}
for (const f of files.filter((f) => f.endsWith('.css'))) {
  check(f, /@import|url\(\s*["']?(?:https?:)?\/\//i, 'remote CSS');
}
if (!files.some((f) => f.endsWith('.css'))) problems.push('no .css file was emitted (are styles injected by JS?)');
for (const page of ['index.html', 'consent.html']) if (!files.includes(page)) problems.push(`${page} is missing`);

if (problems.length) {
  console.error('dist/ would break under the app CSP:\n  ' + problems.join('\n  '));
  process.exit(1);
}
console.log(`dist/ is CSP-clean (${files.length} files checked)`);
