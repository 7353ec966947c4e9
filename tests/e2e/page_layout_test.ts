/**
 * The confirm page's style in Chromium, served by the app with its real Content-Security-Policy
 * (the style allowed by its hash): a narrow phone with enlarged text keeps a usable text
 * column, and forced colours (Windows High Contrast) keep the button's edge. Needs chromium
 * only, no lab.
 */

import { assert, assertEquals } from "../support/assert.ts";
import { appSetup, ID, PEER } from "../support/app_fixture.ts";
import type { Page } from "playwright-core";
import { type LabBrowser, openBrowser } from "./lib/browser.ts";
import { announceSkip, browserSkipReason } from "./lib/requirements.ts";

const browserSkip = announceSkip("the page layout tests", browserSkipReason());

/**
 * A property of the first element `selector` matches, as the page computes it. An expression,
 * not a function: these files are checked without the DOM's types.
 */
function computed(page: Page, selector: string, property: string): Promise<string> {
  return page.evaluate(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)}))[${
      JSON.stringify(property)
    }]`,
  );
}

/** Opens the confirm page from the app over a real socket, and Chromium on it. */
async function withConfirmPage(body: (browser: LabBrowser) => Promise<void>): Promise<void> {
  const { app } = await appSetup();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => app.fetch(request, PEER),
  );
  const browser = await openBrowser();
  try {
    const violations: string[] = [];
    browser.page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await browser.page.goto(`http://127.0.0.1:${server.addr.port}/login/${ID}`);
    // A style the CSP blocked would leave the browser's defaults, which pass both checks.
    assertEquals(violations, []);
    assertEquals(await computed(browser.page, "main", "maxWidth"), "576px");
    await body(browser);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

Deno.test({
  name: "the confirm page in Chromium, styled under its CSP",
  ignore: browserSkip !== undefined,
  async fn(t) {
    // One browser for both steps: launching Chromium is most of the time.
    await withConfirmPage(async ({ page }) => {
      await t.step("at 320 CSS px with text at 200%, a text column of 240 px or more", async () => {
        await page.setViewportSize({ width: 320, height: 640 });
        // Text at 200%: what the browser's font size setting changes, and rem follows.
        await page.$eval("html", (html) => (html.style.fontSize = "200%"));
        assertEquals(await computed(page, "html", "fontSize"), "32px");
        const width = await page.$eval("main p", (p) => p.getBoundingClientRect().width);
        // Paddings in rem alone left 142 px: German words broke mid-word ("Verbind/ung").
        assert(width >= 240, `text column ${width} px of 320`);
      });
      await t.step("in forced colours, the button keeps a visible edge", async () => {
        await page.emulateMedia({ forcedColors: "active" });
        const width = await computed(page, "#continue", "borderTopWidth");
        const color = await computed(page, "#continue", "borderTopColor");
        assert(width !== "0px", `button border ${width}`);
        // Forced colours paint the transparent border in a system colour.
        assert(color !== "rgba(0, 0, 0, 0)", `button border colour ${color}`);
      });
    });
  },
});
