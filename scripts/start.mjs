// `npm start`: build when needed, then run the server in this process.
import { ensureBuild, ensureWebBuild } from './ensure-build.mjs';

ensureBuild();
ensureWebBuild();
await import('../dist/src/main.js');
