// First render against a bare Leptos 0.8 counter built with the same tools, profile and
// flags (benches/bare, built by `make bench-fcp`), both served the same way: 15 alternating
// cold loads each, first contentful paint and the long tasks before it. A measurement
// for BENCHMARKS.md, never a pass/fail timing; skipped from the count when the bare page
// is not built.
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { test, expect } = require('@playwright/test');

const bareDist = path.resolve(__dirname, '../../benches/bare/dist');
const barePort = Number(process.env.E2E_BARE_PORT || 8098);

async function firstPaint(browser, url, mounted) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    window.__long = [];
    new PerformanceObserver((l) => window.__long.push(...l.getEntries().map((e) => [e.startTime, e.duration])))
      .observe({ type: 'longtask', buffered: true });
  });
  await page.goto(url);
  const fcp = await page.evaluate(() => new Promise((resolve) => {
    const done = () => {
      const e = performance.getEntriesByName('first-contentful-paint')[0];
      if (e) resolve(e.startTime); else setTimeout(done, 20);
    };
    done();
  }));
  // When the app itself is on screen (the lab's stage, the counter's button).
  await page.waitForSelector(mounted);
  const mountedMs = await page.evaluate(() => performance.now());
  await page.waitForTimeout(300);
  const long = await page.evaluate((fcp) => window.__long.filter(([s]) => s < fcp).reduce((a, [, d]) => a + d, 0), fcp);
  await context.close();
  return { fcp, long, mountedMs };
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

test('first contentful paint: the lab against a bare Leptos page @benchmark', async ({ browser }) => {
  test.skip(!fs.existsSync(path.join(bareDist, 'index.html')), 'benches/bare/dist is not built (make bench-fcp builds it)');
  test.setTimeout(180_000);
  const server = spawn('python3', ['-m', 'http.server', String(barePort), '--bind', '127.0.0.1', '--directory', bareDist], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 800));
    const lab = []; const bare = [];
    for (let i = 0; i < 15; i++) {
      bare.push(await firstPaint(browser, `http://127.0.0.1:${barePort}/index.html`, 'main button'));
      lab.push(await firstPaint(browser, '/index.html', '[data-testid=stage]'));
    }
    const result = {
      lab_fcp_median_ms: median(lab.map((x) => x.fcp)),
      bare_fcp_median_ms: median(bare.map((x) => x.fcp)),
      lab_long_tasks_before_fcp_median_ms: median(lab.map((x) => x.long)),
      bare_long_tasks_before_fcp_median_ms: median(bare.map((x) => x.long)),
      // An upper bound (read after the element appears, by polling): the app on screen.
      lab_stage_mounted_median_ms: median(lab.map((x) => x.mountedMs)),
      bare_button_mounted_median_ms: median(bare.map((x) => x.mountedMs)),
    };
    result.ratio = result.lab_fcp_median_ms / result.bare_fcp_median_ms;
    fs.mkdirSync('../../target/e2e', { recursive: true });
    fs.writeFileSync('../../target/e2e/fcp.json', JSON.stringify(result, null, 2));
    console.log('fcp:', JSON.stringify(result));
    expect(result.lab_fcp_median_ms).toBeGreaterThan(0);
  } finally {
    server.kill();
  }
});
