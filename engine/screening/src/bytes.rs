//! Byte skips for the scanners that only care about a few bytes (digits,
//! '+', '(', '@'): eight bytes at a time (SWAR), so the CPR and contact scanners
//! do not walk every byte of ordinary prose one by one.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that is below `n` (`n` ≤ 128). A flag
/// can be wrong only in a byte above (more significant than) a right one,
/// so the lowest flag is always right.
#[inline(always)]
fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(LO * n as u64) & !w & HI
}

/// The first position at or after `i` holding an ASCII digit, or `b.len()`.
#[inline]
pub(crate) fn next_digit(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        // a digit XOR '0' is below 10, and nothing else is
        let m = below(u64::from_le_bytes(*c) ^ (LO * b'0' as u64), 10);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !b[i].is_ascii_digit() {
        i += 1;
    }
    i.min(b.len())
}

/// Whether a number may start at this byte for the contact scanner: an
/// ASCII digit, '+' or '('.
#[inline(always)]
fn number_byte(c: u8) -> bool {
    c.is_ascii_digit() || c == b'+' || c == b'('
}

/// The first position at or after `i` holding an ASCII digit, '+' or '(',
/// or `b.len()`.
#[inline]
pub(crate) fn next_number_byte(b: &[u8], mut i: usize) -> usize {
    while let Some(c) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        // (the lowest flag of each mask is right, so the lowest of the
        // union is too)
        let w = u64::from_le_bytes(*c);
        let m = below(w ^ (LO * b'0' as u64), 10)
            | below(w ^ (LO * b'+' as u64), 1)
            | below(w ^ (LO * b'(' as u64), 1);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !number_byte(b[i]) {
        i += 1;
    }
    i.min(b.len())
}

/// The first position at or after `i` holding `needle`, or `b.len()`.
#[inline]
pub(crate) fn next_byte(b: &[u8], mut i: usize, needle: u8) -> usize {
    while let Some(c) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let m = below(u64::from_le_bytes(*c) ^ (LO * needle as u64), 1);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i] != needle {
        i += 1;
    }
    i.min(b.len())
}

/// Positions of `needle` in `b`.
pub(crate) fn positions(b: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let i = next_byte(b, from, needle);
        from = i + 1;
        (i < b.len()).then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_agree_with_a_plain_walk() {
        let text =
            "a@b.dk Tlf. +45 20 30 40 50 (+45) kl. 12.30, sag 2023-0412/x æøå ()+9 ab\u{A0}7";
        let b = text.as_bytes();
        let mut all: Vec<u8> = (0u8..=255).collect();
        all.extend_from_slice(b);
        for bytes in [b, &all[..]] {
            for i in 0..=bytes.len() {
                let d = (i..bytes.len())
                    .find(|&j| bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                assert_eq!(next_digit(bytes, i), d, "digit from {i}");
                let n = (i..bytes.len())
                    .find(|&j| number_byte(bytes[j]))
                    .unwrap_or(bytes.len());
                assert_eq!(next_number_byte(bytes, i), n, "number byte from {i}");
                let a = (i..bytes.len())
                    .find(|&j| bytes[j] == b'@')
                    .unwrap_or(bytes.len());
                assert_eq!(next_byte(bytes, i, b'@'), a, "'@' from {i}");
            }
        }
        assert_eq!(next_digit(b, b.len() + 3), b.len());
        let at: Vec<usize> = positions(b"x@y @@z", b'@').collect();
        assert_eq!(at, vec![1, 4, 5]);
    }
}
