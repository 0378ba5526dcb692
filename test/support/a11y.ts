import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
/**
 * axe-core's browser bundle. It is evaluated through the DevTools protocol rather than added as a
 * `<script>` tag: the client's Content-Security-Policy (`script-src 'self'`) rightly refuses inline
 * scripts, and the check must run against the page exactly as served.
 */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: AxeNode[];
}

/**
 * The serious and critical accessibility violations axe-core finds on the page as it is now (WCAG
 * 2.x A and AA rules plus axe's best practices), one readable line per rule and element, so a failing
 * expectation says what to fix. An empty list is a pass.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  // The bundle stays loaded across the client's own navigation; a full page load needs it again.
  if (!(await page.evaluate<boolean>("typeof globalThis.axe === 'object'"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate<AxeViolation[]>(
    "axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }).then((r) => r.violations)",
  );
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) => violation.nodes.map((node) => `${violation.impact} ${violation.id} (${violation.help}): ${JSON.stringify(node.target)} ${node.html.slice(0, 160)}`));
}
