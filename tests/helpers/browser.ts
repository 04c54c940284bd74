/**
 * A real headless Chromium for tests, driven by playwright-core, writing only to a fresh
 * temporary directory; disposable with `await using` (the browser is closed, or killed if it
 * will not close, and the directory removed).
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Chromium is; `CHROMIUM_PATH` overrides the Debian location. */
const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/**
 * Chromium's flags: no sandbox (it refuses to run as root with one), no GPU, and nothing that
 * reaches the network on its own (it is closed in CI and here).
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** How long a page action (click, fill, navigation) or a wait may take, in milliseconds. */
const ACTION_TIMEOUT_MS = 5_000;
const LAUNCH_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;

/** A running browser with one page. */
export interface TestBrowser extends AsyncDisposable {
  page: Page;
}

/**
 * Starts headless Chromium and returns its first page. Everything it writes (profile, crash
 * database, caches) goes to one fresh temporary directory, removed on dispose.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  try {
    await Deno.stat(CHROMIUM_PATH);
  } catch {
    throw new Error(
      `Chromium is not at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set ` +
        `CHROMIUM_PATH. The browser tests need a real browser and are never skipped.`,
    );
  }
  const home = await Deno.makeTempDir({ prefix: "wsd-chromium-" });
  let context: BrowserContext | undefined;
  let pid: number | undefined;
  const dispose = () => closeBrowser(context, pid, home);
  try {
    context = await chromium.launchPersistentContext(`${home}/profile`, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      // Chromium keeps its crash database under XDG_CONFIG_HOME whatever the profile is.
      env: {
        ...Deno.env.toObject(),
        XDG_CONFIG_HOME: `${home}/config`,
        XDG_CACHE_HOME: `${home}/cache`,
      },
      timeout: LAUNCH_TIMEOUT_MS,
    });
    pid = await browserPid(context);
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    return { page, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose().catch(() => {});
    throw error;
  }
}

/** The id of Chromium's browser process, asked of Chromium itself. */
async function browserPid(context: BrowserContext): Promise<number> {
  const session = await context.browser()!.newBrowserCDPSession();
  try {
    const { processInfo } = await session.send("SystemInfo.getProcessInfo");
    const browser = processInfo.find((process) => process.type === "browser");
    if (!browser) throw new Error("Chromium did not report its browser process");
    return browser.id;
  } finally {
    await session.detach();
  }
}

/**
 * Closes Chromium; if it does not close in time, kills its process group (playwright starts it
 * as a group leader) and fails. The temporary directory is removed either way.
 */
async function closeBrowser(
  context: BrowserContext | undefined,
  pid: number | undefined,
  home: string,
): Promise<void> {
  try {
    if (context) await withTimeout(context.close(), CLOSE_TIMEOUT_MS, "closing Chromium");
  } catch (error) {
    if (pid !== undefined) {
      for (const target of [-pid, pid]) {
        try {
          Deno.kill(target, "SIGKILL");
          break;
        } catch {
          // Not a group leader after all, or already gone.
        }
      }
      // Once the process is gone, playwright notices and the close completes.
      await withTimeout(context!.close(), CLOSE_TIMEOUT_MS, "killing Chromium");
    }
    throw error;
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Resolves as `promise` does, or rejects once `timeoutMs` have passed, naming `what`. */
async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the text of the element at `selector` is `expected` (or matches it), polling;
 * fails with the text it last saw.
 */
export async function waitForText(
  page: Page,
  selector: string,
  expected: string | RegExp,
  timeoutMs = ACTION_TIMEOUT_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const matches = (text: string) =>
    typeof expected === "string" ? text === expected : expected.test(text);
  for (;;) {
    const text = await page.locator(selector).textContent({ timeout: timeoutMs }) ?? "";
    if (matches(text)) return text;
    if (Date.now() >= deadline) {
      throw new Error(
        `${selector} is ${JSON.stringify(text)} after ${timeoutMs} ms, expected ${
          typeof expected === "string" ? JSON.stringify(expected) : expected
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
