// Headless Chromium for browser tests, driven by playwright-core (no browser download: Debian's
// `chromium` package, at /usr/bin/chromium, or DDSRV_CHROMIUM).
//
// Missing browser: locally the tests skip with a message saying how to install it; under CI=true that is
// a failure, so a CI run can never pass by silently skipping (.ci/run installs it).
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.DDSRV_CHROMIUM || '/usr/bin/chromium';
const INSTALL_HINT = `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set DDSRV_CHROMIUM) to run the browser tests`;

/** For `describe(name, { skip: browserSkip() }, ...)`. */
export function browserSkip(): string | false {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return false;
  } catch {
    if (process.env.CI === 'true') throw new Error(`${INSTALL_HINT} (CI=true: refusing to skip)`);
    return INSTALL_HINT;
  }
}

/** `extraArgs`: e.g. `--host-resolver-rules=MAP name 127.0.0.1` (a foreign name that resolves here, never to the network). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', ...extraArgs],
    timeout: 30_000,
  });
}

/**
 * A new dashboard page at `url`, signed in with `token`. Console errors (but the expected 401 of the first
 * look without a token) and page errors go to `problems`, for the test to assert empty at the end.
 */
export async function openSignedIn(newPage: () => Promise<Page>, url: string, token: string, problems: string[]): Promise<Page> {
  const page = await newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#login-form button[type=submit]').click();
  return page;
}
