import { render } from 'preact';
import { App } from './app.js';
import { boot, init } from './state/session.js';
import './styles.css';

init();
render(<App />, document.getElementById('app') as HTMLElement);
void boot();
