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

/// Line starts of one text.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
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
        let col = enc.len(&text[start..offset]);
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
        let line = &text[start..end];
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            if units >= pos.character {
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
    }
}
