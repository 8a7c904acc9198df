//! Referral codes: a code each customer can give friends ("推荐码"), read back to the
//! customer who gave it when a friend joins. The code is the customer's id scrambled by a
//! small Feistel network and written in an alphabet without look-alikes, with a check
//! character: neighbouring customers get unrelated codes, and a mistyped code is refused
//! instead of crediting a stranger.

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const KEYS: [u16; 4] = [0x5A3C, 0x19E7, 0xC4B1, 0x7F02];
/// Seven characters hold 31^7 > 2^32 values, then one check character.
const DIGITS: usize = 7;

fn round(x: u16, key: u16) -> u16 {
    let v = u32::from(x ^ key).wrapping_mul(0x9E37_79B1);
    ((v >> 16) as u16) ^ (v as u16)
}

fn check(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| (i as u32 + 1) * u32::from(*d))
        .sum();
    (sum % ALPHABET.len() as u32) as u8
}

/// The referral code of customer `id` (ids from 1 to 2^32 − 1).
pub fn referral_code(id: i64) -> Option<String> {
    let n = u32::try_from(id).ok().filter(|n| *n > 0)?;
    let (mut l, mut r) = ((n >> 16) as u16, n as u16);
    for k in KEYS {
        (l, r) = (r, l ^ round(r, k));
    }
    let mut v = (u64::from(l) << 16) | u64::from(r);
    let mut digits = [0u8; DIGITS];
    for d in digits.iter_mut().rev() {
        *d = (v % ALPHABET.len() as u64) as u8;
        v /= ALPHABET.len() as u64;
    }
    let mut out: String = digits
        .iter()
        .map(|d| ALPHABET[*d as usize] as char)
        .collect();
    out.push(ALPHABET[check(&digits) as usize] as char);
    Some(out)
}

/// The customer whose code this is; spaces, dashes and case do not matter. `None` for a
/// code that is not one (a typo is caught by the check character).
pub fn referrer_of(code: &str) -> Option<i64> {
    let clean: Vec<u8> = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase() as u32)
        .map(|c| u8::try_from(c).unwrap_or(0))
        .collect();
    if clean.len() != DIGITS + 1 {
        return None;
    }
    let mut digits = [0u8; DIGITS];
    for (i, c) in clean[..DIGITS].iter().enumerate() {
        digits[i] = ALPHABET.iter().position(|a| a == c)? as u8;
    }
    let last = ALPHABET.iter().position(|a| *a == clean[DIGITS])? as u8;
    if last != check(&digits) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0u64, |v, d| v * ALPHABET.len() as u64 + u64::from(*d));
    let v = u32::try_from(v).ok()?;
    let (mut l, mut r) = ((v >> 16) as u16, v as u16);
    for k in KEYS.iter().rev() {
        (l, r) = (r ^ round(l, *k), l);
    }
    let id = (u32::from(l) << 16) | u32::from(r);
    (id > 0).then_some(i64::from(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_to_their_customer() {
        for id in [1, 2, 3, 42, 1_000, 65_535, 65_536, 1_000_000, 4_294_967_295] {
            let code = referral_code(id).unwrap();
            assert_eq!(code.len(), 8, "{code}");
            assert!(code.chars().all(|c| !"01OIL".contains(c)), "{code}");
            assert_eq!(referrer_of(&code), Some(id), "{code}");
            let spaced = format!("{}-{} ", &code[..4], &code[4..]).to_lowercase();
            assert_eq!(referrer_of(&spaced), Some(id));
        }
        assert_ne!(referral_code(1), referral_code(2));
        assert_eq!(referral_code(0), None);
        assert_eq!(referral_code(-5), None);
        assert_eq!(referral_code(1 << 40), None);
    }

    #[test]
    fn a_mistyped_code_is_refused() {
        let code = referral_code(12_345).unwrap();
        let mut wrong: Vec<char> = code.chars().collect();
        wrong[2] = if wrong[2] == 'A' { 'B' } else { 'A' };
        let wrong: String = wrong.into_iter().collect();
        assert_eq!(referrer_of(&wrong), None);
        assert_eq!(referrer_of("short"), None);
        assert_eq!(referrer_of("推荐码推荐码推荐码"), None);
        assert_eq!(referrer_of(""), None);
    }
}
