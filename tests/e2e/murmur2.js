// An independent JavaScript restatement of Kafka's Utils.murmur2, so the e2e suite
// checks the lab's lanes against a second implementation rather than against itself.
function murmur2(bytes) {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ bytes.length) >>> 0;
  const len4 = bytes.length & ~3;
  for (let i = 0; i < len4; i += 4) {
    let k = (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0;
    k = Math.imul(k, m) >>> 0;
    k = (k ^ (k >>> 24)) >>> 0;
    k = Math.imul(k, m) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h = (h ^ k) >>> 0;
  }
  const rest = bytes.length & 3;
  if (rest === 3) h ^= bytes[len4 + 2] << 16;
  if (rest >= 2) h ^= bytes[len4 + 1] << 8;
  if (rest >= 1) { h ^= bytes[len4]; h = Math.imul(h >>> 0, m) >>> 0; }
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, m) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return h | 0;
}

function javaPartition(key, n) {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % n;
}

module.exports = { murmur2, javaPartition };
