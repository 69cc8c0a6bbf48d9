// The vertical slice: type a key, produce, and see it land in the lane Kafka's Java producer picks.
const { test, expect } = require('@playwright/test');
const { javaPartition } = require('./murmur2');
const { fresh, openTab, snap } = require('./helpers');

test('a typed key lands in its murmur2 lane, with the computation shown', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'produce');
  await page.getByLabel('record key').fill('order-42');
  await page.getByRole('button', { name: 'Produce', exact: true }).click();

  const lane = javaPartition('order-42', 3);
  await expect(page.locator(`[data-partition="${lane}"] [data-key="order-42"]`)).toHaveCount(1);
  await expect(page.getByTestId('computation')).toHaveText('murmur2("order-42") = 501153024 → 501153024 mod 3 = 0 → offset 0');

  await page.getByTestId('produce-random').click();
  // Every record sits in the lane its key hashes to, computed here independently.
  const cells = await page.locator('.lab-lane .lab-cell').evaluateAll((els) =>
    els.map((el) => ({ key: el.dataset.key, lane: Number(el.closest('.lab-lane').dataset.partition) })));
  expect(cells.length).toBe(11);
  for (const { key, lane: got } of cells) expect(got, key).toBe(javaPartition(key, 3));
  await snap(page, 'slice-produce');
});

test('adding a partition names the keys that move, as murmur2 predicts', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'produce');
  await page.getByTestId('produce-random').click();
  const keys = await page.locator('.lab-cell').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.key))]);
  await page.getByTestId('add-partition').click();
  await expect(page.locator('.lab-lane')).toHaveCount(4);
  const notice = await page.getByTestId('notice').textContent();
  expect(notice).toContain('Now 4 partitions');
  // Exactly the keys whose murmur2 lane changes from 3 to 4 partitions are named.
  const moved = keys.filter((k) => javaPartition(k, 3) !== javaPartition(k, 4));
  for (const k of moved) expect(notice).toContain(`${k} p${javaPartition(k, 3)}→p${javaPartition(k, 4)}`);
  for (const k of keys.filter((k) => !moved.includes(k))) expect(notice).not.toContain(`${k} p`);
  await snap(page, 'slice-add-partition');
});

test('a bad key gets a clear message, not a crash', async ({ page }) => {
  await fresh(page);
  await openTab(page, 'produce');
  await page.getByLabel('record key').fill('x'.repeat(300));
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await expect(page.getByTestId('notice')).toContainText('at most 256 bytes');
  await expect(page.locator('.lab-cell')).toHaveCount(0);
});
