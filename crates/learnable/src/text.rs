//! Aligned text tables that never panic, whatever the width of the user's data.
//!
//! Rust's `format!("{s:>w$}")` panics ("Formatting argument out of range") when `w` exceeds
//! 65,535, so a width computed from a class label, a tensor name or a `--labels` value must not
//! reach a format string. These helpers pad with `str::repeat` instead, and [`cell`] shortens
//! text longer than [`MAX_CELL_CHARS`] with an ellipsis in the middle, so that one absurd label
//! neither hides the rest of a table nor pads every other row with thousands of spaces.
//!
//! Widths count Unicode scalar values (`chars`), as `format!`'s own padding does.
//! JSON outputs are not affected: they always hold the full text.

use std::borrow::Cow;

/// Longest text a table cell shows, in characters. Longer text keeps its first 100 and last 99
/// characters around a `…` (so both a label's start and a tensor name's `.weight`/`.bias`
/// suffix stay visible). Real labels and tensor names are far shorter (Hugging Face tensor
/// names stay under 100 characters).
pub const MAX_CELL_CHARS: usize = 200;

/// Width of `s` in characters (Unicode scalar values), the unit of `format!` padding.
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` right-aligned in `width` characters: spaces added on the left, as `format!("{s:>w$}")`
/// does, but without its 65,535 limit. Text already at least `width` wide is returned whole.
pub fn pad_left(s: &str, width: usize) -> String {
    let n = self::width(s);
    let mut out = String::with_capacity(s.len() + width.saturating_sub(n));
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out.push_str(s);
    out
}

/// `s` left-aligned in `width` characters: spaces added on the right, as `format!("{s:<w$}")`
/// does, but without its 65,535 limit. Text already at least `width` wide is returned whole.
pub fn pad_right(s: &str, width: usize) -> String {
    let n = self::width(s);
    let mut out = String::with_capacity(s.len() + width.saturating_sub(n));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

/// `s` shortened to at most `max_chars` characters: the first `ceil((max_chars - 1) / 2)` and
/// the last `floor((max_chars - 1) / 2)` characters joined by `…`. Text that fits is borrowed
/// unchanged; `max_chars == 0` gives the empty string.
pub fn truncate_middle(s: &str, max_chars: usize) -> Cow<'_, str> {
    let n = width(s);
    if n <= max_chars {
        return Cow::Borrowed(s);
    }
    if max_chars == 0 {
        return Cow::Borrowed("");
    }
    let keep = max_chars - 1;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    Cow::Owned(out)
}

/// The text a table cell shows for `s`: `s` itself, or, beyond [`MAX_CELL_CHARS`], its
/// [`truncate_middle`] shortening.
pub fn cell(s: &str) -> Cow<'_, str> {
    truncate_middle(s, MAX_CELL_CHARS)
}

/// Column alignment for [`render_table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Text starts at the column's left edge (labels, names).
    Left,
    /// Text ends at the column's right edge (numbers).
    Right,
}

/// Renders rows of cells as aligned text: each cell shortened by [`cell`], each column as wide
/// as its widest cell, columns joined by `sep`, trailing spaces trimmed, one `\n` per row.
/// `align[c]` aligns column `c`; columns beyond `align` are right-aligned. Rows may have
/// different lengths (missing cells are left out).
pub fn render_table(rows: &[Vec<String>], align: &[Align], sep: &str) -> String {
    let cells: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|r| r.iter().map(|s| cell(s)).collect())
        .collect();
    let ncol = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            cells
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| width(s))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        let parts: Vec<String> = r
            .iter()
            .enumerate()
            .map(
                |(c, s)| match align.get(c).copied().unwrap_or(Align::Right) {
                    Align::Left => pad_right(s, widths[c]),
                    Align::Right => pad_left(s, widths[c]),
                },
            )
            .collect();
        out.push_str(parts.join(sep).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_matches_format_below_its_limit_and_goes_beyond_it() {
        // Below 65,535 the helpers agree with format!'s own padding (also for non-ASCII text,
        // which both count in chars).
        for (s, w) in [("cat", 6), ("é", 3), ("long text", 2), ("", 0)] {
            assert_eq!(pad_left(s, w), format!("{s:>w$}"));
            assert_eq!(pad_right(s, w), format!("{s:<w$}"));
        }
        // 70,000 > 65,535: format! would panic with "Formatting argument out of range".
        let p = pad_left("x", 70_000);
        assert_eq!(p.len(), 70_000);
        assert!(p.ends_with(" x"));
        let p = pad_right("x", 70_000);
        assert_eq!(p.len(), 70_000);
        assert!(p.starts_with("x "));
    }

    #[test]
    fn long_text_keeps_its_start_and_end_around_an_ellipsis() {
        // max 7: 6 kept characters, 3 before the ellipsis and 3 after (by hand).
        assert_eq!(truncate_middle("abcdefghij", 7), "abc…hij");
        // max 6: 5 kept, ceil(5/2) = 3 before, 2 after.
        assert_eq!(truncate_middle("abcdefghij", 6), "abc…ij");
        assert_eq!(truncate_middle("abcdefghij", 10), "abcdefghij");
        assert_eq!(truncate_middle("abcdefghij", 1), "…");
        assert_eq!(truncate_middle("abcdefghij", 0), "");
        assert_eq!(truncate_middle("ééééé", 3), "é…é");
        let long = format!("layers.{}.weight", "x".repeat(70_000));
        let c = cell(&long);
        assert_eq!(width(&c), MAX_CELL_CHARS);
        assert!(
            c.starts_with("layers.xx") && c.ends_with("xx.weight"),
            "{c}"
        );
        assert!(matches!(cell("short"), Cow::Borrowed("short")));
    }

    #[test]
    fn a_table_aligns_columns_and_shortens_a_70000_character_cell() {
        let rows = vec![
            vec!["class".to_string(), "p".to_string()],
            vec!["cat".to_string(), "0.25".to_string()],
            vec!["a".repeat(70_000), "1".to_string()],
        ];
        let t = render_table(&rows, &[Align::Left], "  ");
        let lines: Vec<&str> = t.lines().collect();
        // Column 0 is 200 wide (the shortened label), column 1 is 4 wide ("0.25").
        assert_eq!(lines[0], format!("{:<200}  {:>4}", "class", "p"));
        assert_eq!(lines[1], format!("{:<200}  0.25", "cat"));
        assert_eq!(width(lines[2]), 200 + 2 + 4);
        assert!(lines[2].contains('…') && lines[2].ends_with("     1"));
        // Trailing spaces are trimmed and short rows are allowed.
        let t = render_table(
            &[vec!["a".into()], vec!["bbb".into(), "c".into()]],
            &[],
            " ",
        );
        assert_eq!(t, "  a\nbbb c\n");
    }
}
