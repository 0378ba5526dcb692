import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The web client's first load must stay small (README, Size). It shares the contract with the
 * server, but only as types and plain constants: one value imported from a schema module pulls
 * the whole of TypeBox into the bundle (it once added 21 KB gzipped). This walks the static,
 * non-type imports from the entry point, as the bundler does, and lists every file reached that
 * imports TypeBox for its values. Lazy chunks (`import('./x.js')`) are not part of the first load.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY = path.join(ROOT, 'web/src/main.tsx');

/** Relative module specifiers a file imports or re-exports for their values (not `import type`). */
function valueImports(source: string): string[] {
  const specifiers: string[] = [];
  const statement = /^(?:import|export)\s+(?!type\s)([^;]*?)\s*from\s+'([^']+)'/gms;
  for (const match of source.matchAll(statement)) {
    const clause = match[1] ?? '';
    // `import { type A, type B } from` brings in nothing at run time either.
    const names = /^\{([^}]*)\}$/.exec(clause.trim())?.[1];
    if (names?.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '))) continue;
    specifiers.push(match[2] ?? '');
  }
  for (const match of source.matchAll(/^import\s+'([^']+)'/gm)) specifiers.push(match[1] ?? '');
  return specifiers;
}

function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, `${base}.tsx`]) {
    if (existsSync(candidate) && !candidate.endsWith('.css')) return candidate;
  }
  return undefined;
}

function firstLoadModules(): Map<string, string[]> {
  const reached = new Map<string, string[]>();
  const queue = [ENTRY];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (reached.has(file)) continue;
    const specifiers = valueImports(readFileSync(file, 'utf8'));
    reached.set(file, specifiers);
    for (const specifier of specifiers) {
      const local = resolveLocal(file, specifier);
      if (local) queue.push(local);
    }
  }
  return reached;
}

describe('the web client first-load bundle', () => {
  it('reaches the shared contract for types and plain constants only, never TypeBox', () => {
    const modules = firstLoadModules();
    expect(modules.size).toBeGreaterThan(20);
    // The walk does cross into the server's tree (the SDK and the call texts are shared on purpose).
    expect([...modules.keys()].some((file) => file.startsWith(path.join(ROOT, 'src/')))).toBe(true);
    const withTypebox = [...modules].filter(([, specifiers]) => specifiers.some((s) => s === 'typebox' || s.startsWith('typebox/'))).map(([file]) => path.relative(ROOT, file));
    expect(withTypebox).toEqual([]);
  });

  it('would notice a schema module imported for a value', () => {
    expect(valueImports("import { MAX_FORWARD_CONVERSATIONS } from '../../src/contract/pins.js';")).toEqual(['../../src/contract/pins.js']);
    expect(valueImports("import type { Message } from '../../src/contract/messages.js';")).toEqual([]);
    expect(valueImports("import { type Message, type Page } from './x.js';")).toEqual([]);
    expect(valueImports("import Type, { type Static } from 'typebox';")).toEqual(['typebox']);
  });
});
