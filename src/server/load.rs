//! Reading a records file for `serve --load`: a JSON array in Waldur's list
//! format or JSON Lines, parsed on every core with a live record count.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{JsonError, Record};

/// Why a records file could not be read; created by [`read_records_file`].
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not UTF-8.
    Utf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A record is malformed or breaks a rule.
    Json {
        /// The file.
        path: PathBuf,
        /// 0-based position of the record in the file, when known.
        index: Option<usize>,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The field at fault, when known.
        field: Option<String>,
        /// The reason.
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Utf8 { path, offset } => {
                write!(f, "{}: not UTF-8 at byte {offset}", path.display())
            }
            LoadError::Json {
                path,
                index,
                line,
                field,
                message,
            } => {
                write!(f, "{}: ", path.display())?;
                match (index, line) {
                    (Some(i), Some(l)) => write!(f, "record {i} (line {l}): ")?,
                    (Some(i), None) => write!(f, "record {i}: ")?,
                    (None, Some(l)) => write!(f, "line {l}: ")?,
                    (None, None) => {}
                }
                if let Some(field) = field {
                    write!(f, "{field}: ")?;
                }
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    fn json(path: &Path, e: &JsonError, index_offset: usize, line_offset: usize) -> LoadError {
        LoadError::Json {
            path: path.to_owned(),
            index: e.index().map(|i| i + index_offset),
            line: e.line().map(|l| l + line_offset),
            field: e.field().map(str::to_owned),
            message: e.message().to_owned(),
        }
    }
}

/// Bytes per JSON Lines chunk parsed by one thread.
const CHUNK_BYTES: usize = 4 << 20;

/// Reads every record of a file, in file order: a JSON array of records
/// (Waldur's list format: URLs or UUIDs, usage as numbers or decimal
/// strings) or JSON Lines (one record per line). `progress` counts the
/// records parsed so far (JSON Lines: chunk by chunk, in parallel; a JSON
/// array: at the end).
///
/// # Errors
///
/// The first bad record in file order, with its index, line and field.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicUsize;
/// use usage_store::Record;
/// use usage_store::server::load::read_records_file;
/// let dir = std::env::temp_dir().join(format!("usage-store-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("r.jsonl");
/// let line = Record::example().to_json("https://w.example");
/// std::fs::write(&path, format!("{line}\n{}\n", line.replace("alice", ""))).unwrap();
/// let e = read_records_file(&path, &AtomicUsize::new(0)).unwrap_err();
/// assert!(e.to_string().ends_with("record 1 (line 2): username: must not be empty"), "{e}");
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_records_file(path: &Path, progress: &AtomicUsize) -> Result<Vec<Record>, LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        path: path.to_owned(),
        error,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| LoadError::Utf8 {
        path: path.to_owned(),
        offset: e.valid_up_to(),
    })?;
    if text.trim_start().starts_with('[') {
        match split_array(text) {
            Some(chunks) => parse_parallel(path, &chunks, true, progress),
            // Not one array at the structural level: parse it whole for the exact error.
            None => {
                let records =
                    crate::read_records(text).map_err(|e| LoadError::json(path, &e, 0, 0))?;
                progress.fetch_add(records.len(), Ordering::Relaxed);
                Ok(records)
            }
        }
    } else {
        parse_parallel(path, &chunks(text), false, progress)
    }
}

/// Splits the elements of a top-level JSON array into runs of about
/// [`CHUNK_BYTES`], cut only at the commas between elements (outside
/// strings, at depth 1), each with the number of lines before it. `None`
/// when the text is not a single array at the structural level (unbalanced
/// brackets, text after the closing bracket, a cut before an empty run):
/// the caller then parses the whole text, which names the error exactly.
fn split_array(text: &str) -> Option<Vec<(&str, usize)>> {
    let b = text.as_bytes();
    let open = b.iter().position(|c| !c.is_ascii_whitespace())?;
    let mut out = Vec::new();
    let mut start = open + 1;
    let mut lines_before = memchr::memchr_iter(b'\n', &b[..start]).count();
    let mut depth = 0usize;
    let mut i = start;
    let end = loop {
        let c = *b.get(i)?;
        match c {
            b'"' => {
                // Skip the string: to its closing quote, stepping over escapes.
                let mut j = i + 1;
                loop {
                    j += memchr::memchr2(b'"', b'\\', &b[j..])?;
                    if b[j] == b'\\' {
                        j += 2;
                    } else {
                        break;
                    }
                }
                i = j;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b']' => break i,
            b'}' => return None,
            b',' if depth == 0 && i - start >= CHUNK_BYTES => {
                let run = &text[start..i];
                if run.trim().is_empty() {
                    return None;
                }
                out.push((run, lines_before));
                lines_before += memchr::memchr_iter(b'\n', &b[start..=i]).count();
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    };
    if !b[end + 1..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let last = &text[start..end];
    if !out.is_empty() && last.trim().is_empty() {
        return None;
    }
    out.push((last, lines_before));
    Some(out)
}

/// Splits JSON Lines text at line ends into chunks of about
/// [`CHUNK_BYTES`], returning each chunk with the number of lines before it.
fn chunks(text: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut lines_before = 0;
    while !rest.is_empty() {
        let cut = if rest.len() <= CHUNK_BYTES {
            rest.len()
        } else {
            match memchr::memchr(b'\n', &rest.as_bytes()[CHUNK_BYTES..]) {
                Some(i) => CHUNK_BYTES + i + 1,
                None => rest.len(),
            }
        };
        let (chunk, tail) = rest.split_at(cut);
        out.push((chunk, lines_before));
        lines_before += memchr::memchr_iter(b'\n', chunk.as_bytes()).count();
        rest = tail;
    }
    out
}

type ChunkResult = Result<Vec<Record>, JsonError>;

/// Parses chunks on every core (JSON Lines text, or runs of array elements
/// when `array`), counting records into `progress`; the records in order, or
/// the first error in file order with its global index and line.
fn parse_parallel(
    path: &Path,
    chunks: &[(&str, usize)],
    array: bool,
    progress: &AtomicUsize,
) -> Result<Vec<Record>, LoadError> {
    let results: Vec<Mutex<Option<ChunkResult>>> =
        chunks.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(chunks.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((chunk, _)) = chunks.get(i) else {
                        break;
                    };
                    let r = if array {
                        // No newline is added: lines inside the run keep their numbers.
                        crate::read_records(&format!("[{chunk}]"))
                    } else {
                        crate::read_records(chunk)
                    };
                    if let Ok(v) = &r {
                        progress.fetch_add(v.len(), Ordering::Relaxed);
                    } else {
                        // Stop early: later chunks cannot change the first error.
                        next.fetch_max(chunks.len(), Ordering::Relaxed);
                    }
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    let results: Vec<Option<ChunkResult>> = results
        .into_iter()
        .map(|m| m.into_inner().ok().flatten())
        .collect();
    let total = results.iter().flatten().flatten().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    for (r, (_, lines_before)) in results.into_iter().zip(chunks) {
        match r {
            Some(Ok(v)) => out.extend(v),
            Some(Err(e)) => return Err(LoadError::json(path, &e, out.len(), *lines_before)),
            // Not parsed because an earlier chunk failed (chunks are taken in
            // order, so every chunk before a failure has a result).
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cut_at_line_ends_and_count_lines() {
        let line = "x".repeat(1000) + "\n";
        let text = line.repeat(10_000);
        let cs = chunks(&text);
        assert!(cs.len() > 1);
        let mut lines = 0;
        for (c, before) in &cs {
            assert_eq!(*before, lines);
            assert!(c.ends_with('\n'));
            lines += c.matches('\n').count();
        }
        assert_eq!(lines, 10_000);
        assert_eq!(cs.iter().map(|c| c.0.len()).sum::<usize>(), text.len());
        assert!(chunks("").is_empty());
        assert_eq!(chunks("a"), [("a", 0)]);
    }

    #[test]
    fn split_array_cuts_between_elements_only() {
        // Elements with brackets, commas, quotes and backslashes inside strings.
        let elem = r#"{"a": "x],[{\"y\\", "b": [1, {"c": "}"}]}"#;
        let n = 3 * CHUNK_BYTES / elem.len();
        let text = format!("\n [\n{}\n]\n", vec![elem; n].join(",\n"));
        let runs = split_array(&text).unwrap();
        assert!(runs.len() >= 3, "{}", runs.len());
        let mut count = 0;
        let mut lines = 1; // the blank first line; the `[` line is the first run's
        for (run, before) in &runs {
            assert_eq!(*before, lines);
            let v: Vec<serde_json::Value> = serde_json::from_str(&format!("[{run}]")).unwrap();
            count += v.len();
            lines += run.matches('\n').count();
        }
        assert_eq!(count, n);
        assert_eq!(split_array("[]").unwrap(), [("", 0)]);
        assert_eq!(split_array(" [ 1 , 2 ] ").unwrap(), [(" 1 , 2 ", 0)]);
        for bad in ["[", "[1", "[1] x", "[}", "[\"abc]", "[{]"] {
            assert!(split_array(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arrays_in_many_runs_keep_order_and_name_late_errors() {
        let dir =
            std::env::temp_dir().join(format!("usage-store-load-array-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.json");
        let mut r = Record::example();
        let mut items = Vec::new();
        let n = 30_000;
        for i in 0..n {
            r.uuid = uuid::Uuid::from_u128(i + 1);
            r.username = format!("user{i}").into();
            // Waldur's list format: usage as a decimal string.
            items.push(
                r.to_json("https://w.example")
                    .replace("\"usage\":12.5", "\"usage\":\"12.50\""),
            );
        }
        let text = format!("[\n{}\n]", items.join(",\n"));
        std::fs::write(&path, &text).unwrap();
        let p = AtomicUsize::new(0);
        let all = read_records_file(&path, &p).unwrap();
        assert_eq!(all.len(), n as usize);
        assert_eq!(p.load(Ordering::Relaxed), n as usize);
        assert!(
            all.iter()
                .enumerate()
                .all(|(i, r)| r.username == format!("user{i}"))
        );
        assert_eq!(all[0].usage, "12.5".parse().unwrap());

        let bad = text.replace("\"username\":\"user29000\"", "\"username\":7");
        std::fs::write(&path, &bad).unwrap();
        let e = read_records_file(&path, &AtomicUsize::new(0)).unwrap_err();
        let LoadError::Json {
            index, line, field, ..
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!(
            (*index, *line, field.as_deref()),
            (Some(29_000), Some(29_002), Some("username"))
        );
        // Trailing garbage falls back to the whole-text parser, which names it.
        std::fs::write(&path, format!("{text} x")).unwrap();
        let e = read_records_file(&path, &AtomicUsize::new(0)).unwrap_err();
        assert!(e.to_string().contains("line"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_in_late_chunks_carry_global_index_and_line() {
        let dir = std::env::temp_dir().join(format!("usage-store-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.jsonl");
        let mut r = Record::example();
        let mut text = String::new();
        let n = 30_000;
        for i in 0..n {
            r.uuid = uuid::Uuid::from_u128(i + 1);
            r.username = format!("user{i}").into();
            text.push_str(&r.to_json("https://w.example"));
            text.push('\n');
            if i == 5 {
                text.push('\n'); // a blank line shifts lines against indexes
            }
        }
        std::fs::write(&path, &text).unwrap();
        let p = AtomicUsize::new(0);
        let all = read_records_file(&path, &p).unwrap();
        assert_eq!(all.len(), n as usize);
        assert_eq!(p.load(Ordering::Relaxed), n as usize);
        assert_eq!(all[29_999].username, "user29999");

        let bad = text.replace("\"username\":\"user29000\"", "\"username\":\"\"");
        std::fs::write(&path, &bad).unwrap();
        let e = read_records_file(&path, &AtomicUsize::new(0)).unwrap_err();
        let LoadError::Json {
            index, line, field, ..
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!(
            (*index, *line, field.as_deref()),
            (Some(29_000), Some(29_002), Some("username"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
