// The effect side in the page: a crash after processing and before the commit makes the
// application charge a customer twice (red rows in the Groups panel's database table);
// the idempotent consumer (dedupe=event-id) gets the same duplicate deliveries and charges
// once.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, commitMode, count, setConfig, snap } = require('./helpers');

async function crashAndCome(page) {
  await advance(page, 10);
  await page.getByRole('button', { name: 'crash c1' }).click();
  await advance(page, 30);
}

test('a crash charges a customer twice; the idempotent consumer charges once', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await commitMode(page, 'after-batch');
  await crashAndCome(page);
  const duplicates = await count(page, 'duplicate');
  expect(duplicates).toBeGreaterThan(0);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-summary')).toContainText(`dedupe=off: ${duplicates} record(s) charged twice`);
  await expect(page.getByTestId('effects-summary')).toHaveClass(/lab-effects__summary--alert/);
  const red = page.locator('[data-testid="effects-table"] .lab-effects__row--doubled');
  await expect(red.first()).toContainText('twice');
  await red.first().scrollIntoViewIfNeeded();
  await snap(page, 'effects-double-charge');
  // The duplicate's cause chain ends with the charge it made.
  await openTab(page, 'anomalies');
  await page.locator('.lab-anomaly--duplicate').first().click();
  await closeDrawer(page);
  await expect(page.getByTestId('cause')).toContainText('charged them again');
  await snap(page, 'effects-cause');

  // The same run with the idempotent consumer (a setup change replays the same actions to
  // the same moment): the same duplicate deliveries, no double charge.
  await openTab(page, 'setup');
  await setConfig(page, 'dedupe', 'event-id');
  await closeDrawer(page);
  await expect(page.getByTestId('time')).toHaveText('t = 40.0 s');
  expect(await count(page, 'duplicate')).toBe(duplicates);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-summary')).toContainText(`${duplicates} repeated deliveries skipped, 0 charged twice`);
  await expect(page.locator('[data-testid="effects-table"] .lab-effects__row--doubled')).toHaveCount(0);
  await page.getByTestId('effects-table').scrollIntoViewIfNeeded();
  await snap(page, 'effects-deduped');
});
