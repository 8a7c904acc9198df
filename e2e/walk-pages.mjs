// Walks the staff pages of a demo server in one language and reports, per page, what a
// reader would see untranslated: message keys (`stype.repair`) and raw codes
// (`in_progress`, `assigned`). Used by tests/language.test.mjs; run by hand with
//   node e2e/walk-pages.mjs zh-CN
import { readFileSync, readdirSync } from 'node:fs';

const src = new URL('../crates/aftercare-web/src/', import.meta.url).pathname;

/** Every message key of the product, and the code values its keys name. */
export function messageKeys() {
  const keys = new Set();
  for (const f of readdirSync(src).filter((f) => /^i18n.*\.rs$/.test(f))) {
    for (const m of readFileSync(src + f, 'utf8').matchAll(/\(\s*"([a-z][a-z0-9_]*\.[A-Za-z0-9_.+\-]+)"\s*,/g)) {
      keys.add(m[1]);
    }
  }
  return keys;
}

/** What on a page's visible text is a key or a code rather than words. */
export function findRaw(text, keys) {
  const prefixes = new Set([...keys].map((k) => k.split('.')[0]));
  const codes = new Set(
    [...keys]
      .map((k) => k.split('.').slice(1).join('.'))
      .filter((c) => /^[a-z][a-z_]+$/.test(c) && c.length > 2),
  );
  const found = new Set();
  // A key: prefix.rest, not inside an address or a file name.
  for (const m of text.matchAll(/(?<![\w@\/.-])([a-z][a-z0-9_]*)\.([a-z0-9_.\-]*[a-z0-9_])(?![\w@\/-])/g)) {
    if (prefixes.has(m[1]) && !/\.(csv|xlsx|ics|vcf|json|cn|com|hk|tw)$/.test(m[0])) found.add(m[0]);
  }
  // A code: a lowercase word that is one of the product's codes, standing alone.
  for (const m of text.matchAll(/(?<![\w@\/.:=?&-])([a-z][a-z_]+)(?![\w@\/.=-])/g)) {
    if (codes.has(m[1]) || m[1].includes('_')) found.add(m[1]);
  }
  return [...found];
}
