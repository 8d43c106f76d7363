//! Cutting an edited file from the cut of its previous text
//! (`Cut::edited`, what the compiler does on every keystroke) gives the
//! cut a fresh scan gives, for any text and any edit of it.
//!
//! Input: two bytes of edit position, one of bytes deleted, one of the
//! inserted length, the inserted bytes, then the old text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pac_lang::chunks::Cut;

fuzz_target!(|data: &[u8]| {
    let [a, b, del, n, rest @ ..] = data else {
        return;
    };
    let n = (*n as usize).min(rest.len());
    let (ins, old) = rest.split_at(n);
    let (Ok(ins), Ok(old)) = (std::str::from_utf8(ins), std::str::from_utf8(old)) else {
        return;
    };
    let mut at = (u16::from_le_bytes([*a, *b]) as usize).min(old.len());
    while !old.is_char_boundary(at) {
        at -= 1;
    }
    let mut end = (at + *del as usize).min(old.len());
    while !old.is_char_boundary(end) {
        end += 1;
    }
    let new = format!("{}{}{}", &old[..at], ins, &old[end..]);
    assert_eq!(Cut::new(old).edited(old, &new), Cut::new(&new));
});
