// Builds dist/ once: some suites start the built server as a real process.
// @ts-expect-error plain ESM helper without types
import { ensureBuild, ensureWebBuild } from '../../scripts/ensure-build.mjs';

export default function setup(): void {
  (ensureBuild as () => void)();
  // The browser suites load the built client from the server under test.
  (ensureWebBuild as () => void)();
}
