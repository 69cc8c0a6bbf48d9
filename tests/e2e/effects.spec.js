// The effect side in the page: a crash after processing and before the commit makes the
// application charge a customer twice (red rows in the Groups panel's database table);
// the idempotent consumer (dedupe=event-id) gets the same duplicate deliveries and charges
// once, as does an upsert per event id; offsets stored with the data redeliver nothing.
const { test, expect } = require('@playwright/test');
const { fresh, advance, openTab, closeDrawer, commitMode, count, setConfig, openLevel, snap } = require('./helpers');

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

  // An upsert keyed by the event id: the same deliveries, each repeat rewrites its own row.
  await openTab(page, 'setup');
  await setConfig(page, 'dedupe', 'upsert');
  await closeDrawer(page);
  expect(await count(page, 'duplicate')).toBe(duplicates);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-summary')).toContainText(`${duplicates} repeated deliveries rewrote their own row, 0 charged twice`);

  // Offsets stored with the data: c2 starts where c1's database stopped, so the crash
  // redelivers nothing at all, and loses nothing.
  await openTab(page, 'setup');
  await setConfig(page, 'dedupe', 'stored-offsets');
  await closeDrawer(page);
  await expect(page.getByTestId('time')).toHaveText('t = 40.0 s');
  // The explanation opened before belonged to the old history.
  await expect(page.getByTestId('cause')).toHaveCount(0);
  expect(await count(page, 'duplicate')).toBe(0);
  expect(await count(page, 'lost')).toBe(0);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-summary')).toContainText('dedupe=stored-offsets: each partition\'s offset is stored with its charges');
  await page.getByTestId('effects-table').scrollIntoViewIfNeeded();
  await snap(page, 'effects-stored-offsets');
});

async function seekToBeginning(page, consumer, partition) {
  await page.getByRole('button', { name: new RegExp(`^seek ${consumer}`) }).click();
  const dialog = page.getByTestId('seek-dialog');
  await dialog.getByTestId('seek-partition').selectOption(`0:${partition}`);
  await dialog.getByTestId('seek-beginning').check();
  await dialog.getByTestId('seek-go').click();
  await expect(dialog).toHaveCount(0);
}

test('L34 by hand: a corrupted table is rebuilt by truncating it and replaying the log', async ({ page }) => {
  await fresh(page, { width: 1280, height: 720 });
  await openLevel(page, 'L34');
  await closeDrawer(page);
  await advance(page, 45);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-check')).toContainText('differ from the log');
  await expect(page.getByTestId('effects-check')).toHaveClass(/lab-effects__summary--alert/);
  await page.getByTestId('effects-check').scrollIntoViewIfNeeded();
  await snap(page, 'projection-corrupted');
  await page.getByTestId('truncate-table').click();
  await closeDrawer(page);
  await seekToBeginning(page, 'c1', 0);
  await seekToBeginning(page, 'c1', 1);
  await seekToBeginning(page, 'c2', 2);
  await advance(page, 30);
  await openTab(page, 'groups');
  await expect(page.getByTestId('effects-check')).toContainText('Every balance is what the log says');
  await page.getByTestId('effects-check').scrollIntoViewIfNeeded();
  await snap(page, 'projection-rebuilt');
  await closeDrawer(page);
  await advance(page, 20);
  await expect(page.getByTestId('goal-status')).toHaveText('Solved!');
});
