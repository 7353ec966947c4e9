/**
 * A real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) that follows a
 * WEB_AUTH URL the way a user would: an optional confirmation page, the IdP login form, and the
 * final page the bridge shows.
 */

import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

export interface BrowserOptions {
  /** Default /usr/bin/chromium. */
  readonly executablePath?: string;
  /** Extra command-line switches for Chromium. */
  readonly extraArgs?: readonly string[];
  /** Default timeout for every navigation and wait, in ms (default 15000). */
  readonly timeoutMs?: number;
  /** Browser locale, e.g. `de-DE`: sets Accept-Language (default: Chromium's own). */
  readonly locale?: string;
}

export interface LoginSelectors {
  /** Button on the bridge's confirmation page, clicked when present (default `#continue`). */
  readonly continueButton: string;
  readonly username: string;
  readonly password: string;
  readonly submit: string;
}

export interface LoginOptions {
  readonly selectors?: Partial<LoginSelectors>;
  /** Wait until the final page's URL matches this (default: the page after the form post). */
  readonly finalUrl?: string | RegExp | ((url: URL) => boolean);
}

export interface PageResult {
  readonly finalUrl: string;
  /** Visible text of the final page's body. */
  readonly text: string;
}

export interface LabBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Opens `url`, clicks Continue if shown, fills and submits the login form. */
  login(
    url: string,
    username: string,
    password: string,
    options?: LoginOptions,
  ): Promise<PageResult>;
  /** Opens `url` and clicks Continue if shown, without a login form (an existing IdP session). */
  visit(url: string, options?: LoginOptions): Promise<PageResult>;
  /** Closes Chromium and removes its profile directory. */
  close(): Promise<void>;
}

/** Keycloak's login form ids; `#continue` is the bridge's confirmation button. */
export const KEYCLOAK_SELECTORS: LoginSelectors = {
  continueButton: "#continue",
  username: "#username",
  password: "#password",
  submit: "#kc-login",
};

/**
 * Flags that let Debian's Chromium run headless as root in a container without a GPU or a
 * user namespace sandbox (--no-sandbox), and keep it off the network except for the lab.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches Chromium with a fresh profile (no cookies from earlier runs). */
export async function openBrowser(options: BrowserOptions = {}): Promise<LabBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "oao-e2e-chromium-" });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: options.executablePath ?? "/usr/bin/chromium",
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
      ...(options.locale ? { locale: options.locale } : {}),
    });
  } catch (error) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw error;
  }
  context.setDefaultTimeout(options.timeoutMs ?? 15_000);
  const page = context.pages()[0] ?? await context.newPage();

  const openAndContinue = async (url: string, selectors: LoginSelectors) => {
    await page.goto(url, { waitUntil: "load" });
    if (await page.locator(selectors.continueButton).count() > 0) {
      await Promise.all([
        page.waitForNavigation({ waitUntil: "load" }),
        page.click(selectors.continueButton),
      ]);
    }
  };
  const finish = async (loginOptions: LoginOptions): Promise<PageResult> => {
    const finalUrl = loginOptions.finalUrl;
    if (finalUrl !== undefined) {
      await page.waitForURL(finalUrl, { waitUntil: "load" });
    }
    return { finalUrl: page.url(), text: await page.locator("body").innerText() };
  };

  return {
    context,
    page,
    async login(url, username, password, loginOptions = {}) {
      const selectors = { ...KEYCLOAK_SELECTORS, ...loginOptions.selectors };
      await openAndContinue(url, selectors);
      await page.fill(selectors.username, username);
      await page.fill(selectors.password, password);
      await Promise.all([
        page.waitForNavigation({ waitUntil: "load" }),
        page.click(selectors.submit),
      ]);
      return await finish(loginOptions);
    },
    async visit(url, loginOptions = {}) {
      await openAndContinue(url, { ...KEYCLOAK_SELECTORS, ...loginOptions.selectors });
      return await finish(loginOptions);
    },
    async close() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
