/**
 * The report as a person sees it: written by the real CLI from a generated log directory (hostile
 * process names included), then opened from disk in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) with the network blocked and every request recorded.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { HOSTILE_NAMES, writeCorpus, writePids } from "./corpus_test_util.ts";

// The page's globals, inside page.evaluate callbacks (they run in the browser, typed loosely here
// rather than pulling the DOM library into the project's type check).
// deno-lint-ignore no-explicit-any
declare const document: any;

const ROOT = new URL("../../../", import.meta.url).pathname;
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** Writes a corpus and a watchlist and runs `report`; returns the HTML path. */
async function makeReport(dir: string): Promise<string> {
  const logs = join(dir, "logs");
  Deno.mkdirSync(logs);
  writeCorpus(logs, { sets: 3, connections: 1500, start: Date.parse("2026-11-26T08:00:00Z") });
  writePids(logs, "26-11-26-8-0-0");
  const watchlist = join(dir, "watch.jsonc");
  Deno.writeTextFileSync(
    watchlist,
    `{ "ports": "4444", "modules": ["**/inject.dll"], "users": ["*guest"], /* c */ }`,
  );
  const out = join(dir, "report.html");
  const r = await cli("report", "--log-dir", logs, "--watchlist", watchlist, "--utc", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** Every chart: a canvas with drawn (non-transparent) pixels. */
async function assertChartsDrawn(page: Page): Promise<void> {
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll("[data-chart]")].map((el) => {
      const canvas = el.querySelector("canvas");
      if (!canvas) return [el.getAttribute("data-chart"), 0];
      const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let drawn = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) drawn++;
      return [el.getAttribute("data-chart"), drawn];
    })
  );
  assert.deepEqual(charts.map(([k]) => k), [
    "ports",
    "processes",
    "remotes",
    "users",
    "heatmap",
    "timeline",
    "durations",
  ]);
  for (const [kind, drawn] of charts) {
    assert.ok((drawn as number) > 1000, `chart ${kind} drew ${drawn} pixels`);
  }
}

/** Tables populated. */
async function assertTablesPopulated(page: Page): Promise<void> {
  const rows = await page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll("section")].map((s) => [s.id, s.querySelectorAll("tbody tr").length]),
    )
  );
  for (const id of ["interest", "ports", "processes", "remotes", "users", "services"]) {
    assert.ok(rows[id] > 0, `${id}: ${rows[id]} rows`);
  }
}

/** Hostile names are text: no element, no script ran, shown escaped in the tables. */
async function assertHostileInert(page: Page): Promise<void> {
  const hostile = await page.evaluate(() => ({
    title: document.title,
    imgs: document.querySelectorAll("img").length,
    scripts: document.querySelectorAll("script").length,
    cells: [...document.querySelectorAll("#processes td")].map((td) => td.textContent),
  }));
  assert.equal(hostile.imgs, 0);
  assert.equal(hostile.scripts, 3);
  assert.match(hostile.title, /^Port report: TESTHOST$/);
  assert.ok(hostile.cells.includes(HOSTILE_NAMES[0]), "the <img> name is shown as text");
  assert.ok(hostile.cells.includes(HOSTILE_NAMES[1]), "the </script> name is shown as text");
  assert.ok(
    hostile.cells.includes("evil\\u202e\\x1b[31mred"),
    "control and bidi characters are shown escaped",
  );
}

/** A tooltip over the hostile bar (ECharts tooltips are HTML) stays text. */
async function assertTooltipInert(page: Page): Promise<void> {
  await page.evaluate((name) => {
    const charts = (globalThis as unknown as {
      reportCharts: Record<
        string,
        { getOption(): { yAxis: { data: string[] }[] }; dispatchAction(a: unknown): void }
      >;
    }).reportCharts;
    const index = charts.processes.getOption().yAxis[0].data.indexOf(name);
    charts.processes.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: index });
  }, HOSTILE_NAMES[0]);
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => document.querySelectorAll("img").length), 0);
  assert.equal(await page.evaluate(() => document.title), "Port report: TESTHOST");
}

/** The watchlist found the wrong-folder svchost.exe, its injected module, port 4444, the guest user. */
async function assertWatchlistFindings(page: Page): Promise<void> {
  const interest = await page.evaluate(() =>
    [...document.querySelectorAll("#interest tbody tr")].map((tr) =>
      tr.children[0].textContent + " " + tr.children[1].textContent
    )
  );
  for (
    const f of [
      "path svchost.exe",
      "module C:\\Users\\Public\\inject.dll",
      "port tcp/4444",
      "user TEST\\guest",
    ]
  ) assert.ok(interest.includes(f), `${f} in ${interest.join("; ")}`);
}

/** Sorting: a click on "endpoints opened" orders the ports table by it, descending then ascending. */
async function assertSortable(page: Page): Promise<void> {
  const column = async () =>
    await page.evaluate(() =>
      [...document.querySelectorAll("#ports tbody tr")].map((tr) =>
        Number(tr.children[3].getAttribute("data-v"))
      )
    );
  await page.click("#ports th:nth-child(4)");
  const desc = await column();
  assert.deepEqual(desc, [...desc].sort((a, b) => b - a));
  await page.click("#ports th:nth-child(4)");
  const asc = await column();
  assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
  assert.notDeepEqual(asc, desc);
}

Deno.test("report: opens offline in Chromium, no console error, every chart drawn, tables populated and sortable, hostile names inert", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "pr-report-" });
  const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_FLAGS,
    offline: true,
  });
  try {
    const file = await makeReport(dir);
    const requests: string[] = [];
    await browser.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith("file://")) return route.continue();
      requests.push(url);
      return route.abort();
    });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => (m.type() === "error" || m.type() === "warning") && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("dialog", (d) => (problems.push(`dialog: ${d.message()}`), d.dismiss()));
    page.on("request", (r) => !r.url().startsWith("file://") && requests.push(r.url()));
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`file://${file}`, { waitUntil: "load" });
    await page.waitForFunction(() =>
      (globalThis as unknown as { reportCharts?: object }).reportCharts !== undefined
    );

    await assertChartsDrawn(page);
    await assertTablesPopulated(page);
    await assertHostileInert(page);
    await assertTooltipInert(page);
    await assertWatchlistFindings(page);
    await assertSortable(page);

    const shot = Deno.env.get("REPORT_SCREENSHOT") ?? join(dir, "report.png");
    const png = await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // PNG
    assert.ok(new DataView(png.buffer, png.byteOffset).getUint32(16) === 1280, "screenshot is 1280 px wide");
    assert.ok(png.length > 50_000, `screenshot has content (${png.length} bytes)`);

    assert.deepEqual(problems, []);
    assert.deepEqual(requests, []);
  } finally {
    await browser.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
