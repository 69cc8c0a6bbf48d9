//! Partitioners: which partition a record lands in, bit-exact with the real clients.
//!
//! - [`murmur2`] and [`java_partition`]: the Java producer's keyed path
//!   (`Utils.murmur2`, `BuiltInPartitioner.partitionForKey`).
//! - [`crc32_partition`]: librdkafka's `consistent` partitioner, the keyed half of its
//!   default `consistent_random`.

/// Kafka's `Utils.murmur2`: MurmurHash2 (32-bit) with seed `0x9747b28c`, as a signed int.
///
/// All arithmetic wraps at 32 bits; blocks are read little-endian, and the tail falls
/// through exactly as the Java switch does.
///
/// # Example
/// ```
/// use kafka_lab::engine::partitioner::murmur2;
/// assert_eq!(murmur2(b"21"), -973932308);
/// ```
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit. This is not `abs`.
pub fn to_positive(n: i32) -> u32 {
    (n as u32) & 0x7fff_ffff
}

/// The partition the Java producer picks for a non-null key:
/// `toPositive(murmur2(key)) % num_partitions`.
///
/// An empty key is still hashed (only a null key takes the sticky path).
/// A `num_partitions` of 0 returns 0 rather than panicking; topics always have at least one.
///
/// # Example
/// ```
/// use kafka_lab::engine::partitioner::java_partition;
/// assert_eq!(java_partition(b"order-42", 3), 501153024 % 3);
/// ```
pub fn java_partition(key: &[u8], num_partitions: u32) -> u32 {
    if num_partitions == 0 {
        return 0;
    }
    to_positive(murmur2(key)) % num_partitions
}

/// CRC-32 (IEEE, reflected polynomial `0xedb88320`, init and final xor `0xffffffff`),
/// the checksum librdkafka's `consistent` partitioner hashes keys with (same as zlib's).
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = crc32_table();
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc ^ 0xffff_ffff
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// librdkafka's `consistent` partitioner: `crc32(key) % num_partitions`.
///
/// librdkafka maps an empty key to CRC 0, hence partition 0; so does this function,
/// because `crc32(b"") == 0`. A `num_partitions` of 0 returns 0.
pub fn crc32_partition(key: &[u8], num_partitions: u32) -> u32 {
    if num_partitions == 0 {
        return 0;
    }
    crc32(key) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2` vectors.
    #[test]
    fn murmur2_matches_kafka_utils_test() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (key, expected) in cases {
            assert_eq!(
                murmur2(key),
                expected,
                "murmur2({:?})",
                String::from_utf8_lossy(key)
            );
        }
    }

    #[test]
    fn empty_key_is_hashed() {
        assert_eq!(murmur2(b""), 275646681);
    }

    #[test]
    fn to_positive_is_not_abs() {
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        assert_eq!(to_positive(i32::MIN), 0);
    }

    #[test]
    fn crc32_matches_zlib() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
    }

    #[test]
    fn zero_partitions_do_not_panic() {
        assert_eq!(java_partition(b"k", 0), 0);
        assert_eq!(crc32_partition(b"k", 0), 0);
    }
}
