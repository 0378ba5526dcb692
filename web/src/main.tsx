import { render } from 'preact';
import { App } from './app.js';
import { boot } from './store.js';
import './styles.css';

render(<App />, document.getElementById('app') as HTMLElement);
void boot();
