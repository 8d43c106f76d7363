//! Byte offsets ↔ LSP positions, in the encoding negotiated at
//! `initialize` (UTF-16 unless the client offers UTF-8 or UTF-32), so that
//! non-ASCII text in strings and comments never shifts a span.

use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// Picks UTF-8 when the client offers it (no conversion), else UTF-16,
    /// the protocol's default.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or(&[]);
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.is_empty() || offered.contains(&PositionEncodingKind::UTF16) {
            Encoding::Utf16
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }
    /// The length of `s` in this encoding's code units.
    pub fn len(self, s: &str) -> u32 {
        (match self {
            Encoding::Utf8 => s.len(),
            Encoding::Utf16 => s.encode_utf16().count(),
            Encoding::Utf32 => s.chars().count(),
        }) as u32
    }
}

/// Line starts of one text, and which lines are all ASCII.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// On an ASCII line a column is a byte count in every encoding: found in
    /// constant time, so that many positions on one long generated line
    /// (diagnostics, symbols) cost no more than the line itself.
    ascii: Vec<bool>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let b = text.as_bytes();
        let starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', b).map(|i| i + 1))
            .collect();
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let e = starts.get(i + 1).copied().unwrap_or(text.len());
                b[s..e].is_ascii()
            })
            .collect();
        LineIndex { starts, ascii }
    }

    /// The byte offset of `pos` in `text` without building an index (one
    /// scan for line ends up to its line): for applying an edit, where the
    /// text changes right after.
    pub fn offset_of(text: &str, pos: Position, enc: Encoding) -> usize {
        let b = text.as_bytes();
        let start = match pos.line {
            0 => 0,
            n => match memchr::memchr_iter(b'\n', b).nth(n as usize - 1) {
                Some(i) => i + 1,
                None => return text.len(),
            },
        };
        let end = memchr::memchr(b'\n', &b[start..]).map_or(text.len(), |i| start + i);
        column_offset(text, start, end, pos.character, enc)
    }

    /// The position of byte `offset` (clamped into the text and back to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let col = if self.ascii.get(line) == Some(&true) {
            (offset - start) as u32
        } else {
            enc.len(&text[start..offset])
        };
        Position::new(line as u32, col)
    }

    pub fn range(&self, text: &str, start: usize, end: usize, enc: Encoding) -> Range {
        Range::new(
            self.position(text, start, enc),
            self.position(text, end.max(start), enc),
        )
    }

    /// The byte offset of a position; a column past the end of its line
    /// means the line's end, a line past the end means the text's end.
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map(|e| e - 1)
            .unwrap_or(text.len());
        column_offset(text, start, end, pos.character, enc)
    }
}

/// The byte offset of column `character` of the line `start..end`.
fn column_offset(text: &str, start: usize, end: usize, character: u32, enc: Encoding) -> usize {
    let mut units = 0u32;
    for (i, c) in text[start..end].char_indices() {
        if units >= character {
            return start + i;
        }
        units += match enc {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        };
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_positions_round_trip_in_each_encoding() {
        let text = "// é🎉\nx = \"ü\" y\n";
        let idx = LineIndex::new(text);
        let y = text.find('y').unwrap();
        assert_eq!(idx.position(text, y, Encoding::Utf16), Position::new(1, 8));
        assert_eq!(idx.position(text, y, Encoding::Utf8), Position::new(1, 9));
        assert_eq!(idx.position(text, y, Encoding::Utf32), Position::new(1, 8));
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for (o, _) in text.char_indices() {
                assert_eq!(idx.offset(text, idx.position(text, o, enc), enc), o);
            }
        }
        // The emoji is two UTF-16 units: the end of line 0 is column 6; an
        // offset inside the emoji falls back to its start.
        assert_eq!(idx.position(text, 9, Encoding::Utf16), Position::new(0, 6));
        assert_eq!(idx.position(text, 7, Encoding::Utf16), Position::new(0, 4));
        assert_eq!(idx.offset(text, Position::new(0, 99), Encoding::Utf16), 9);
        assert_eq!(
            idx.offset(text, Position::new(9, 0), Encoding::Utf16),
            text.len()
        );
        // Without an index, the same answers.
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for line in 0..4 {
                for character in 0..12 {
                    let p = Position::new(line, character);
                    assert_eq!(LineIndex::offset_of(text, p, enc), idx.offset(text, p, enc));
                }
            }
        }
    }

    #[test]
    fn ascii_lines_take_the_short_way_to_the_same_columns() {
        let text = "abc\né🎉 x\n\nplain line\nlast é";
        let idx = LineIndex::new(text);
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for o in 0..=text.len() {
                let p = idx.position(text, o, enc);
                let mut b = o;
                while !text.is_char_boundary(b) {
                    b -= 1;
                }
                let start = text[..b].rfind('\n').map_or(0, |i| i + 1);
                let line = text[..b].matches('\n').count() as u32;
                assert_eq!(p, Position::new(line, enc.len(&text[start..b])), "{o}");
            }
        }
    }
}
