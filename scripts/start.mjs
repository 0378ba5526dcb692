// `npm start`: build when needed, then run the server in this process.
import { ensureBuild, ensureWebBuild } from './ensure-build.mjs';

ensureBuild();
ensureWebBuild();
// Named through a variable: the type-check of scripts/ runs before anything is built.
const main = '../dist/src/main.js';
await import(main);
