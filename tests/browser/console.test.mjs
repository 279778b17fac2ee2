// console.test.mjs: opens the console in headless Chromium (/usr/bin/chromium, never a
// downloaded browser), checks the overview, the mailbox rows, a click through to one
// mailbox with its ramp chart and today's plan, and saves screenshots.
//   node console.test.mjs <console URL with ?token=> <screenshot dir>
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, shots = "."] = process.argv.slice(2);
const CHROMIUM = "/usr/bin/chromium";
if (!url) {
  console.error("usage: node console.test.mjs <console URL> [screenshot dir]");
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: install Debian's chromium package`);
  process.exit(1);
}

const profile = mkdtempSync(join(tmpdir(), "warmup-chromium-"));
let failures = 0;
function check(ok, what) {
  console.log(`${ok ? "ok" : "FAIL"} - ${what}`);
  if (!ok) failures++;
}

// A fresh profile directory each run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1320, height: 900 },
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(url);
  await page.waitForSelector("#shard-map .shard", { timeout: 15000 });
  check(!new URL(page.url()).searchParams.has("token"), "the token left the address bar");
  const shards = await page.locator("#shard-map .shard").count();
  check(shards > 0, `overview shows the shard map (${shards} shards)`);
  const total = await page.locator(".stat .value").first().textContent();
  check(Number(total.replace(/,/g, "")) > 0, `overview shows Total Mailboxes (${total})`);
  await page.screenshot({ path: join(shots, "overview.png"), fullPage: true });

  await page.click('a[data-nav="mailboxes"]');
  await page.waitForSelector("#mailbox-rows tr.row", { timeout: 15000 });
  const rows = await page.locator("#mailbox-rows tr.row").count();
  check(rows === 25, `the mailbox table shows a page of rows (${rows})`);
  await page.click("#next-page");
  await page.waitForFunction(() => document.querySelector(".pager span")?.textContent.startsWith("26"), null, { timeout: 10000 });
  check(true, "paging moves to the next page");
  await page.screenshot({ path: join(shots, "mailboxes.png"), fullPage: true });

  const first = page.locator("#mailbox-rows tr.row").first();
  const id = await first.getAttribute("data-id");
  await first.click();
  await page.waitForSelector("#ramp-chart polyline.sent", { timeout: 15000 });
  check(page.url().includes("#/mailbox/" + id), `clicking a row opens mailbox ${id}`);
  const lines = await page.locator("#ramp-chart polyline").count();
  check(lines === 2, `the ramp chart draws planned and sent (${lines} lines)`);
  const plan = await page.locator("#plan tbody tr").count();
  check(plan > 0, `today's plan lists its slots (${plan})`);
  // Live refresh: the page polls; the engine clock chip changes under an accelerated clock.
  const clock1 = await page.locator("#engine-clock").textContent();
  await page.waitForTimeout(2600);
  const clock2 = await page.locator("#engine-clock").textContent();
  check(clock1 !== clock2, `the page refreshes by itself (${clock1} -> ${clock2})`);
  await page.screenshot({ path: join(shots, "mailbox.png"), fullPage: true });

  check(errors.length === 0, "no script errors" + (errors.length ? ": " + errors.join("; ") : ""));
} catch (e) {
  console.error("FAIL -", e.message);
  failures++;
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${failures ? "FAILED" : "passed"}: screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
