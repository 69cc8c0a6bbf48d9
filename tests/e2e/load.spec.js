// The lab on screen over a classroom link: 10 Mbit/s down and up, 40 ms latency (Chromium's
// network emulation), every file gzip-compressed as static hosts serve it, cold cache each
// time. Time from navigation start to the first frame painted with the stage's lanes in it,
// over 7 loads; written to target/e2e/load.json for BENCHMARKS.md. A measurement, never a
// pass/fail timing. (Read in the page: Playwright's own wait for the element adds ~300 ms of
// polling under emulation.)
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { test, expect } = require('@playwright/test');

const dist = path.resolve(__dirname, '../../dist');
const port = Number(process.env.E2E_GZIP_PORT || 8097);
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png' };

// Each file compressed once, at gzip -6 (what nginx and most static hosts use on the fly).
function gzipServer() {
  const cache = new Map();
  return http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    const file = path.join(dist, url === '/' ? 'index.html' : url);
    if (!file.startsWith(dist) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (!cache.has(file)) cache.set(file, zlib.gzipSync(fs.readFileSync(file), { level: 6 }));
    const body = cache.get(file);
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Content-Encoding': 'gzip', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    res.end(body);
  });
}

const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

test('the lab on screen over 10 Mbit/s and 40 ms, gzip @benchmark', async ({ browser }) => {
  test.setTimeout(120_000);
  const server = gzipServer();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  try {
    const runs = [];
    let bytes = 0;
    for (let i = 0; i < 7; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 10e6 / 8 });
      let transferred = 0;
      cdp.on('Network.loadingFinished', (e) => { transferred += e.encodedDataLength; });
      // The first lane in the DOM, then the frame that paints it (a task after the next
      // animation frame runs once that frame is drawn).
      await page.addInitScript(() => {
        const seen = new MutationObserver(() => {
          if (window.__lane === undefined && document.querySelector('[data-testid=stage] .lab-lane')) {
            window.__lane = performance.now();
            requestAnimationFrame(() => setTimeout(() => { window.__painted = performance.now(); }));
          }
        });
        document.addEventListener('DOMContentLoaded', () => seen.observe(document.body, { childList: true, subtree: true }));
      });
      await page.goto(`http://127.0.0.1:${port}/index.html`);
      await page.waitForFunction(() => window.__painted !== undefined);
      runs.push(Math.round(await page.evaluate(() => window.__painted)));
      bytes = transferred;
      await context.close();
    }
    const result = { on_screen_ms: runs, on_screen_median_ms: median(runs), transferred_bytes: bytes };
    fs.mkdirSync('../../target/e2e', { recursive: true });
    fs.writeFileSync('../../target/e2e/load.json', JSON.stringify(result, null, 2));
    console.log('load:', JSON.stringify(result));
    expect(result.on_screen_median_ms).toBeGreaterThan(0);
  } finally {
    server.close();
  }
});
