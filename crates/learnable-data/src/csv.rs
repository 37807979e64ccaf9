//! Reading a CSV file with a header into a [`Table`] of text cells (the `csv` crate).
//!
//! A table is read first and interpreted later: [`crate::encode`] decides which columns are
//! numeric, learns categories and imputation values on the training rows, and turns the table into
//! a [`crate::Dataset`]. Keeping the text lets the same code read training files and prediction
//! files against stored preprocessing, with errors that name the file, line and column.
//!
//! Accepted: a UTF-8 byte-order mark, LF or CRLF line endings, quoted fields (`"a, b"`, `""`
//! for a quote), spaces around fields (trimmed), blank lines (skipped). Rejected, with the file
//! and line: an empty file, a header without data rows, a header with an empty or repeated
//! column name, a row whose field count differs from the header's, invalid UTF-8.
//! Line numbers are 1-based and count the header as line 1.

use std::io::Read;
use std::path::Path;

use learnable::{Error, Result};

/// Cell texts that mean "missing": pandas' default `na_values` of `read_csv` (pandas 2.x),
/// matched after trimming. An empty cell is missing too.
pub const MISSING: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// Whether a (trimmed) cell is a missing value (see [`MISSING`]).
pub fn is_missing(cell: &str) -> bool {
    MISSING.contains(&cell)
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
    /// Reads the CSV file at `path` (comma-separated, header required).
    ///
    /// Errors (`Error::Format` naming the file, and the line where there is one): the file cannot
    /// be opened, is empty, has only a header, has an empty or repeated column name, has a row
    /// with more or fewer fields than the header, or is not valid UTF-8.
    pub fn read(path: &Path) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&path.display().to_string(), &bytes)
    }

    /// As [`Table::read`], from any reader; `name` stands for the file in messages.
    pub fn from_reader(name: &str, mut reader: impl Read) -> Result<Table> {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(name, e))?;
        Self::from_bytes(name, &bytes)
    }

    /// As [`Table::read`], from the file's bytes; `name` stands for the file in messages.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Table> {
        let bad = |line: u64, reason: String| Error::Format {
            path: name.to_string(),
            reason: format!("line {line}: {reason}"),
        };
        let mut lines = LineCounter {
            bytes,
            pos: 0,
            line: 1,
        };
        let mut rdr = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(bytes);
        let mut records = rdr.records();
        let header = match records.next() {
            None => {
                return Err(bad(
                    1,
                    "the file is empty; expected a header line naming the columns".into(),
                ));
            }
            Some(r) => r.map_err(|e| csv_error(name, e, &mut lines))?,
        };
        let header_line = lines.line_of(header.position());
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
        let mut rows = Vec::new();
        let mut row_lines = Vec::new();
        for record in records {
            let record = record.map_err(|e| csv_error(name, e, &mut lines))?;
            let line = lines.line_of(record.position());
            if record.len() != header.len() {
                return Err(bad(
                    line,
                    format!(
                        "{} fields, expected {} as in the header (line {header_line})",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            rows.push(record);
            row_lines.push(line);
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
