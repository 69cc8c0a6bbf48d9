// The vertical slice: type a key, produce, and see it land in the lane Kafka's Java producer picks.
const { test, expect } = require('@playwright/test');
const { javaPartition } = require('./murmur2');

const shots = '../../target/e2e';

test('a typed key lands in its murmur2 lane, with the computation shown', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Kafka Lab' })).toBeVisible();

  await page.getByLabel('record key').fill('order-42');
  await page.getByRole('button', { name: 'Produce', exact: true }).click();

  const lane = javaPartition('order-42', 3);
  await expect(page.locator(`[data-partition="${lane}"] [data-key="order-42"]`)).toHaveCount(1);
  await expect(page.getByTestId('computation')).toHaveText('murmur2("order-42") = 501153024 → 501153024 mod 3 = 0');

  await page.getByRole('button', { name: 'Produce 10 random orders' }).click();
  // Every record sits in the lane its key hashes to.
  const cells = await page.locator('.lab-lane .lab-record').evaluateAll((els) =>
    els.map((el) => ({ key: el.dataset.key, lane: Number(el.closest('.lab-lane').dataset.partition) })));
  expect(cells.length).toBe(11);
  for (const { key, lane: got } of cells) expect(got, key).toBe(javaPartition(key, 3));

  await page.screenshot({ path: `${shots}/slice-produce.png`, fullPage: true, animations: 'disabled' });
});

test('adding a partition shows which keys move', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Produce 10 random orders' }).click();
  await page.getByRole('button', { name: 'Add a partition' }).click();
  await expect(page.locator('.lab-lane')).toHaveCount(4);
  await expect(page.getByRole('status')).toContainText('Now 4 partitions');
  await page.screenshot({ path: `${shots}/slice-add-partition.png`, fullPage: true, animations: 'disabled' });
});

test('a bad key gets a clear message, not a crash', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('record key').fill('x'.repeat(300));
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await expect(page.getByRole('status')).toContainText('at most 256 bytes');
  await expect(page.locator('.lab-record')).toHaveCount(0);
});
