// The error policy in the page: a poison record crashes its consumer by default; with
// on.error=dead-letter the application writes it to orders.dlq (a lane of its own under the
// group's topic, the copy marked ✉ with its headers on hover) and the partition moves on.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, count, setConfig, snap } = require('./helpers');

// Sets each `[name, value]` in the Setup panel.
async function configure(page, settings) {
  await openTab(page, 'setup');
  for (const [name, value] of settings) {
    await setConfig(page, name, value);
  }
  await closeDrawer(page);
}

// At 10 s, clicks one button of the Produce panel, then plays 10 s more.
async function atTenSeconds(page, testId) {
  await advance(page, 10);
  await openTab(page, 'produce');
  await page.getByTestId(testId).click();
  await closeDrawer(page);
  await advance(page, 10);
}

test('a dead-letter topic takes the poison record and nobody crashes', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await configure(page, [['on.error', 'dead-letter']]);
  await atTenSeconds(page, 'poison');
  expect(await count(page, 'dead-lettered')).toBe(1);
  expect(await count(page, 'failed')).toBe(0);
  await expect(page.locator('[data-testid="deadline"]', { hasText: 'crashed on poison' })).toHaveCount(0);
  // The dead-letter topic is drawn under the group's topic, with the copy in it.
  await expect(page.locator('.lab-topic__name', { hasText: 'topic orders.dlq' })).toBeVisible();
  const letter = page.locator('.lab-cell__poison', { hasText: '✉' });
  await expect(letter).toHaveCount(1);
  await snap(page, 'deadletter-stage');
  // The ledger's story: failed once, then written to the dead-letter topic.
  await openTab(page, 'anomalies');
  await page.locator('.lab-anomaly--failed').first().click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('dead-letter topic');
  await snap(page, 'deadletter-cause');
});

test('skipping moves on without a dead-letter topic', async ({ page }) => {
  await fresh(page);
  await configure(page, [['on.error', 'skip'], ['error.retries', '2']]);
  await atTenSeconds(page, 'poison');
  expect(await count(page, 'failed')).toBe(1);
  await expect(page.locator('[data-testid="deadline"]', { hasText: 'crashed on poison' })).toHaveCount(0);
  await expect(page.locator('.lab-topic__name', { hasText: 'orders.dlq' })).toHaveCount(0);
});

test('a crash between the two writes leaves rows without events; the outbox closes the gap', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await configure(page, [['service.write', 'row-then-event'], ['producer.linger.ms', '1000']]);
  await atTenSeconds(page, 'crash-producer-1');
  await expect(page.getByTestId('producer-db')).toContainText('rows, no event');
  await expect(page.getByTestId('producer-db')).toHaveClass(/lab-card__line--alert/);
  expect(await count(page, 'lost')).toBeGreaterThan(0);
  await snap(page, 'dual-write-gap');
  // The same run with an outbox: the relay sends the unsent entries after the restart.
  await configure(page, [['service.write', 'outbox']]);
  await expect(page.getByTestId('producer-db')).toContainText('outbox · resent');
  expect(await count(page, 'lost')).toBe(0);
  await snap(page, 'outbox');
});
