// `npm start`: build when needed, then run the server in this process.
import { ensureBuild } from './ensure-build.mjs';

ensureBuild();
await import('../dist/src/main.js');
