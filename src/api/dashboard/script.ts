/**
 * The dashboard's script: the plain JavaScript files of browser/ (type-checked against the DOM by
 * `npm run typecheck`, see browser/tsconfig.json), read once at start and joined, in this order, into one
 * strict closure so nothing leaks into the page's globals. The build copies them next to the compiled
 * page.js (package.json `build`).
 */
import { readFileSync } from 'node:fs';

/** Shared state and helpers first; main.js, which wires everything at load, last. */
export const BROWSER_FILES = ['core.js', 'format.js', 'lists.js', 'detail.js', 'actions.js', 'main.js'];

const read = (name: string) => readFileSync(new URL(`./browser/${name}`, import.meta.url), 'utf8');

export const DASHBOARD_JS = `\n(function () {\n'use strict';\n${BROWSER_FILES.map(read).join('\n')}})();\n`;
