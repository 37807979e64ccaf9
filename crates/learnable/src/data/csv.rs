//! Reading a CSV file with a header into a [`Table`] of text cells (the `csv` crate).
//!
//! A table is read first and interpreted later: [`crate::data::encode`] decides which columns are
//! numeric, learns categories and imputation values on the training rows, and turns the table into
//! a [`crate::data::Dataset`]. Keeping the text lets the same code read training files and prediction
//! files against stored preprocessing, with errors that name the file, line and column.
//!
//! Accepted: a UTF-8 byte-order mark, LF or CRLF line endings, quoted fields (`"a, b"`, `""`
//! for a quote), spaces around fields (trimmed), blank lines (skipped). Rejected, with the file
//! and line: an empty file, a header without data rows, a header with an empty or repeated
//! column name, a row whose field count differs from the header's, invalid UTF-8, and a quoted
//! field whose closing quote never comes (the `csv` crate, like RFC 4180 readers generally, would
//! read the rest of the file into that one field; here it is an error naming the line where the
//! quote opens and its column).
//! Line numbers are 1-based and count the header as line 1.
//!
//! Limits ([`ReadLimits`]): the whole table is held in memory as text, so a file is read in
//! chunks and refused, with its name, once it exceeds [`MAX_FILE_BYTES`] (1 GiB; a regular
//! file's size is checked before reading), once one line exceeds [`MAX_LINE_BYTES`] (16 MiB,
//! naming the line), or at its first NUL byte (naming the line: a binary file, or UTF-16 text).
//! So reading `/dev/zero`, or a huge or binary file given by mistake, ends at once with an error
//! instead of filling memory.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use crate::{Error, Result};

/// Cell texts that mean "missing": pandas' default `na_values` of `read_csv` (pandas 2.x),
/// matched after trimming. An empty cell is missing too.
pub const MISSING: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a (trimmed) cell is a missing value (see [`MISSING`]).
pub fn is_missing(cell: &str) -> bool {
    // Every marker is at most 8 bytes: longer cells (most numbers as written by pandas or
    // NumPy) are decided without comparing strings.
    cell.len() <= 8 && MISSING.contains(&cell)
}

/// Default limit on the bytes of a CSV file read into memory: 1 GiB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Default limit on the bytes of one line of a CSV file: 16 MiB.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Limits on what [`Table::read_with`] reads into memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most bytes of a file. Default [`MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
    /// The most bytes of one line (between two line ends, a quoted field's line ends counted
    /// as line ends). Default [`MAX_LINE_BYTES`].
    pub max_line_bytes: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_bytes: MAX_FILE_BYTES,
            max_line_bytes: MAX_LINE_BYTES,
        }
    }
}

/// `1 GiB`, `16 MiB`, `1000 bytes`: a size in the largest binary unit that divides it, else in
/// bytes.
fn size_text(bytes: u64) -> String {
    for (unit, name) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{} {name}", bytes / unit);
        }
    }
    format!("{bytes} bytes")
}

/// Reads `reader` to its end within `limits`, in chunks; `name` stands for the file in
/// messages. Errors: an I/O error; more than `limits.max_file_bytes`; a line longer than
/// `limits.max_line_bytes` (naming it); a NUL byte (naming its line).
fn read_limited(name: &str, mut reader: impl Read, limits: &ReadLimits) -> Result<Vec<u8>> {
    let bad = |line: u64, reason: String| Error::Format {
        path: name.to_string(),
        reason: format!("line {line}: {reason}"),
    };
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let (mut line, mut line_len) = (1u64, 0usize);
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(name, e)),
        };
        let data = &chunk[..n];
        if let Some(i) = memchr::memchr(0, data) {
            let line = line + memchr::memchr_iter(b'\n', &data[..i]).count() as u64;
            return Err(bad(
                line,
                "a NUL byte: this is not a text CSV file (a binary file, or text saved \
                 as UTF-16? save it as UTF-8)"
                    .into(),
            ));
        }
        // Line lengths: the bytes between two line ends (`\n` or `\r`).
        let mut from = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', data).chain(std::iter::once(n)) {
            line_len += end - from;
            if line_len > limits.max_line_bytes {
                return Err(bad(
                    line,
                    format!(
                        "the line is longer than {}, the most a CSV line may be; is this \
                         a CSV file?",
                        size_text(limits.max_line_bytes as u64)
                    ),
                ));
            }
            if end < n {
                if data[end] == b'\n' {
                    line += 1;
                }
                line_len = 0;
                from = end + 1;
            }
        }
        if (bytes.len() + n) as u64 > limits.max_file_bytes {
            return Err(too_big(name, limits));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}

fn too_big(name: &str, limits: &ReadLimits) -> Error {
    Error::Format {
        path: name.to_string(),
        reason: format!(
            "larger than {}, the most a CSV file may be (it is read into memory whole)",
            size_text(limits.max_file_bytes)
        ),
    }
}

/// A CSV file as read: its header and its rows of text cells, with the file line of each row.
#[derive(Clone, Debug)]
pub struct Table {
    path: String,
    header: Vec<String>,
    records: Vec<::csv::StringRecord>,
    lines: Vec<u64>,
}

impl Table {
    /// Reads the CSV file at `path` (comma-separated, header required) within the default
    /// [`ReadLimits`].
    ///
    /// Errors (`Error::Format` naming the file, and the line where there is one): the file cannot
    /// be opened, is larger than [`MAX_FILE_BYTES`], has a line longer than [`MAX_LINE_BYTES`]
    /// or a NUL byte, is empty, has only a header, has an empty or repeated column name, has a
    /// row with more or fewer fields than the header, is not valid UTF-8, or has a quoted field
    /// that is never closed (naming the line and column where the quote opens).
    pub fn read(path: &Path) -> Result<Table> {
        Self::read_with(path, &ReadLimits::default())
    }

    /// As [`Table::read`] within `limits`. A regular file larger than `limits.max_file_bytes`
    /// is refused before reading; anything else (a pipe, a device) is read in chunks and
    /// refused once it exceeds a limit.
    pub fn read_with(path: &Path, limits: &ReadLimits) -> Result<Table> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        if let Ok(meta) = file.metadata() {
            if meta.is_file() && meta.len() > limits.max_file_bytes {
                return Err(too_big(&name, limits));
            }
        }
        let bytes = read_limited(&name, file, limits)?;
        Self::from_bytes(&name, &bytes)
    }

    /// As [`Table::read`], from any reader (read in chunks within the default
    /// [`ReadLimits`]); `name` stands for the file in messages.
    pub fn from_reader(name: &str, reader: impl Read) -> Result<Table> {
        Self::from_reader_with(name, reader, &ReadLimits::default())
    }

    /// As [`Table::from_reader`] within `limits`.
    pub fn from_reader_with(name: &str, reader: impl Read, limits: &ReadLimits) -> Result<Table> {
        let bytes = read_limited(name, reader, limits)?;
        Self::from_bytes(name, &bytes)
    }

    /// As [`Table::read`], from the file's bytes; `name` stands for the file in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Table> {
        let bad = |line: u64, reason: String| Error::Format {
            path: name.to_string(),
            reason: format!("line {line}: {reason}"),
        };
        if let Some(open) = unclosed_quote(bytes) {
            return Err(unclosed_quote_error(name, bytes, open));
        }
        let mut lines = LineCounter {
            bytes,
            pos: 0,
            line: 1,
        };
        let mut rdr = reader_builder().from_reader(bytes);
        let mut header = ::csv::StringRecord::new();
        match rdr.read_record(&mut header) {
            Ok(false) => {
                return Err(bad(
                    1,
                    "the file is empty; expected a header line naming the columns".into(),
                ));
            }
            Ok(true) => {}
            Err(e) => return Err(csv_error(name, e, &mut lines)),
        }
        let header_line = lines.line_of(header.position());
        let body_start = rdr.position().byte() as usize;
        let header: Vec<String> = header.iter().map(str::to_string).collect();
        for (j, h) in header.iter().enumerate() {
            if h.is_empty() {
                return Err(bad(
                    header_line,
                    format!("column {} of the header has no name", j + 1),
                ));
            }
            if let Some(k) = header[..j].iter().position(|other| other == h) {
                return Err(bad(
                    header_line,
                    format!(
                        "column '{h}' appears twice (columns {} and {})",
                        k + 1,
                        j + 1
                    ),
                ));
            }
        }
        // The rows: in parts cut at line ends, read in parallel, when no field is quoted (a
        // quoted field may hold a line end); else in one part. Parts are joined in file order
        // and the first part's error is the one reported, as a single pass would.
        let parts = if memchr::memchr(b'"', bytes).is_none() {
            split_at_line_ends(bytes, body_start, PART_BYTES)
        } else {
            vec![(body_start, bytes.len())]
        };
        let first_lines = {
            let counts: Vec<u64> = parts
                .par_iter()
                .map(|&(s, e)| memchr::memchr_iter(b'\n', &bytes[s..e]).count() as u64)
                .collect();
            let mut line = 1 + memchr::memchr_iter(b'\n', &bytes[..body_start]).count() as u64;
            counts
                .iter()
                .map(|c| {
                    let first = line;
                    line += c;
                    first
                })
                .collect::<Vec<u64>>()
        };
        let read: Vec<Result<(Vec<::csv::StringRecord>, Vec<u64>)>> = parts
            .par_iter()
            .zip(&first_lines)
            .map(|(&(s, e), &first_line)| {
                read_rows(name, &bytes[s..e], first_line, header.len(), header_line)
            })
            .collect();
        let mut rows = Vec::new();
        let mut row_lines = Vec::new();
        for part in read {
            let (r, l) = part?;
            rows.extend(r);
            row_lines.extend(l);
        }
        if rows.is_empty() {
            return Err(bad(header_line, "a header but no data rows".into()));
        }
        Ok(Table {
            path: name.to_string(),
            header,
            records: rows,
            lines: row_lines,
        })
    }

    /// The file path (or name) given when reading, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Column names from the header, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Number of data rows (the header not counted).
    pub fn n_rows(&self) -> usize {
        self.records.len()
    }

    /// The 1-based file line of data row `row` (the header is line 1).
    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    /// The trimmed text of column `col` in data row `row`.
    pub fn cell(&self, row: usize, col: usize) -> &str {
        &self.records[row][col]
    }

    /// The index of column `name`, if the header has it.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The index of column `name`; errors naming the column, what it is for (`role`, e.g.
    /// `"the target"`) and the columns the file has.
    pub fn require_column(&self, name: &str, role: &str) -> Result<usize> {
        self.column_index(name).ok_or_else(|| {
            self.error(format!(
                "no column '{name}' ({role}); the columns are: {}",
                self.header.join(", ")
            ))
        })
    }

    /// An `Error::Format` about this file.
    pub fn error(&self, reason: String) -> Error {
        Error::Format {
            path: self.path.clone(),
            reason,
        }
    }

    /// An `Error::Format` about cell (`row`, `col`): `line L, column 'C': reason`.
    pub fn cell_error(&self, row: usize, col: usize, reason: impl std::fmt::Display) -> Error {
        self.error(format!(
            "line {}, column '{}': {reason}",
            self.lines[row], self.header[col]
        ))
    }
}

/// Bytes per part when the rows of a file are read in parallel.
const PART_BYTES: usize = 4 << 20;

/// The reader settings of [`Table::from_bytes`] (mirrored by [`unclosed_quote`]).
fn reader_builder() -> ::csv::ReaderBuilder {
    let mut b = ::csv::ReaderBuilder::new();
    b.has_headers(false).flexible(true).trim(::csv::Trim::All);
    b
}

/// `bytes[start..]` cut into ranges of about `part` bytes, each ending just after a `\n` (the
/// last at the end of `bytes`).
fn split_at_line_ends(bytes: &[u8], start: usize, part: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut s = start;
    while s < bytes.len() {
        let target = s.saturating_add(part);
        let e = if target >= bytes.len() {
            bytes.len()
        } else {
            memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1)
        };
        parts.push((s, e));
        s = e;
    }
    if parts.is_empty() {
        parts.push((start, bytes.len()));
    }
    parts
}

/// The records of `part` (whole lines of a CSV file after its header; `first_line` is the file
/// line `part` starts on), each with its file line. Errors: a CSV error, or a record whose field
/// count differs from the header's `n_fields` (naming both lines).
fn read_rows(
    name: &str,
    part: &[u8],
    first_line: u64,
    n_fields: usize,
    header_line: u64,
) -> Result<(Vec<::csv::StringRecord>, Vec<u64>)> {
    let mut lines = LineCounter {
        bytes: part,
        pos: 0,
        line: first_line,
    };
    let mut rows = Vec::new();
    let mut row_lines = Vec::new();
    for record in reader_builder().from_reader(part).into_records() {
        let record = record.map_err(|e| csv_error(name, e, &mut lines))?;
        let line = lines.line_of(record.position());
        if record.len() != n_fields {
            return Err(Error::Format {
                path: name.to_string(),
                reason: format!(
                    "line {line}: {} fields, expected {n_fields} as in the header (line \
                     {header_line})",
                    record.len(),
                ),
            });
        }
        rows.push(record);
        row_lines.push(line);
    }
    Ok((rows, row_lines))
}

/// File line numbers from byte offsets. The `csv` crate's own line count is off after CRLF
/// line ends and blank lines (csv 1.4: a record's position points at the line end before it), so
/// lines are counted here: a record starting at byte `b` (line ends skipped) is on line
/// `1 + number of '\n' before it`. Offsets only grow, so counting is incremental.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl LineCounter<'_> {
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = (byte as usize).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start < self.pos {
            // Not expected (offsets grow); recount from the beginning.
            self.pos = 0;
            self.line = 1;
        }
        self.line += self.bytes[self.pos..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.pos = start;
        self.line
    }

    fn line_of(&mut self, pos: Option<&::csv::Position>) -> u64 {
        match pos {
            Some(p) => self.line_at(p.byte()),
            None => self.line,
        }
    }
}

fn csv_error(name: &str, e: ::csv::Error, lines: &mut LineCounter<'_>) -> Error {
    let line = e.position().map(|p| lines.line_at(p.byte()));
    let reason = match e.kind() {
        ::csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".to_string(),
        ::csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    };
    Error::Format {
        path: name.to_string(),
        reason: match line {
            Some(l) => format!("line {l}: {reason}"),
            None => reason,
        },
    }
}

/// A quote that opens a field and is never closed: where it is.
#[derive(Clone, Copy, Debug)]
struct OpenQuote {
    /// Byte offset of the opening quote.
    byte: usize,
    /// 0-based record index (0 is the header), blank lines not counted.
    record: usize,
    /// 0-based field index within the record.
    field: usize,
}

/// Finds a quoted field still open at the end of `bytes`. Mirrors the state machine of
/// `csv-core` 0.1 with the reader's settings here (delimiter `,`, quote `"`, doubled quotes,
/// no escape, no comments, CR, LF or CRLF ends records, blank lines skipped, a leading UTF-8 BOM
/// skipped): a quote opens a quoted field only as the first byte of a field, and a quote inside
/// an unquoted field is text. `csv-core` ends such a field silently at the end of input
/// (`transition_final_nfa`: `InQuotedField => EndRecord`), which is why this is checked here.
fn unclosed_quote(bytes: &[u8]) -> Option<OpenQuote> {
    memchr::memchr(b'"', bytes)?;
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut state = S::StartRecord;
    let mut record = 0usize;
    let mut field = 0usize;
    let mut open = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        let end_of_line = b == b'\n' || b == b'\r';
        state = match state {
            S::StartRecord if end_of_line => S::StartRecord,
            S::StartRecord | S::StartField => {
                if state == S::StartRecord {
                    field = 0;
                }
                match b {
                    b'"' => {
                        open = i;
                        S::InQuoted
                    }
                    b',' => {
                        field += 1;
                        S::StartField
                    }
                    _ if end_of_line => {
                        record += 1;
                        S::StartRecord
                    }
                    _ => S::InField,
                }
            }
            S::InQuoted if b == b'"' => S::QuoteInQuoted,
            S::InQuoted => S::InQuoted,
            S::QuoteInQuoted if b == b'"' => S::InQuoted,
            S::InField | S::QuoteInQuoted => match b {
                b',' => {
                    field += 1;
                    S::StartField
                }
                _ if end_of_line => {
                    record += 1;
                    S::StartRecord
                }
                _ => S::InField,
            },
        };
    }
    (state == S::InQuoted).then_some(OpenQuote {
        byte: open,
        record,
        field,
    })
}

/// `line L, column 'C': the quote opening this field ("abc,2) is never closed, ...`.
fn unclosed_quote_error(name: &str, bytes: &[u8], open: OpenQuote) -> Error {
    let line = 1 + bytes[..open.byte].iter().filter(|&&b| b == b'\n').count();
    let column = if open.record == 0 {
        format!("column {} of the header", open.field + 1)
    } else {
        // The header ends before the open quote, so it reads normally.
        let header = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .trim(::csv::Trim::All)
            .from_reader(bytes)
            .records()
            .next()
            .and_then(|r| r.ok());
        match header.as_ref().and_then(|h| h.get(open.field)) {
            Some(h) => format!("column '{h}'"),
            None => format!("field {}", open.field + 1),
        }
    };
    let rest = &bytes[open.byte..];
    let rest = &rest[..rest
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(rest.len())];
    let rest = String::from_utf8_lossy(rest);
    let mut excerpt: String = rest.chars().take(20).collect();
    if rest.chars().count() > 20 {
        excerpt.push_str("...");
    }
    Error::Format {
        path: name.to_string(),
        reason: format!(
            "line {line}, {column}: the quote opening this field ({excerpt}) is never closed, so \
             the rest of the file would be read as one field; add the closing quote, or write a \
             quote inside a quoted field as \"\""
        ),
    }
}
