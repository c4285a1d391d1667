//! The parallel digest pipeline: one reader cuts the input into chunks at event
//! boundaries, worker threads parse and aggregate chunks, and the per-thread aggregates
//! merge at the end. Memory is bounded by the channel depth times the chunk size plus the
//! per-class state.

use std::io::Read;
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use crate::sql::fingerprint::{Dialect, Options};
use crate::sql::slowlog::{Carry, ChunkInfo, Counters, Issues, LogFormat, Prefix};

use super::aggregate::{Aggregator, Filter};

/// One input: a file, stdin or a decompressed stream.
pub struct Source {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
}

/// What the user chose about formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatChoice {
    #[default]
    Auto,
    MySql,
    PgStderr,
    PgCsv,
    PgJson,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub format: FormatChoice,
    pub prefix: Option<Prefix>,
    pub filter: Filter,
    pub threads: usize,
    pub chunk_size: usize,
    pub ansi_quotes: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            format: FormatChoice::Auto,
            prefix: None,
            filter: Filter::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            chunk_size: 2 << 20,
            ansi_quotes: false,
        }
    }
}

/// A file's summary in the digest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileSummary {
    pub name: String,
    pub format: String,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error(
        "cannot tell the log format of {name}: not a MySQL/MariaDB slow log, PostgreSQL csvlog/jsonlog, or a PostgreSQL stderr log with a common log_line_prefix; pass --log-format and, for stderr logs, --prefix with the server's log_line_prefix"
    )]
    UnknownFormat { name: String },
}

/// Everything the workers produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub agg: Aggregator,
    pub issues: Issues,
    pub counters: Counters,
    pub files: Vec<FileSummary>,
    pub dialect: Option<Dialect>,
}

struct Chunk {
    data: Vec<u8>,
    info: ChunkInfo,
}

/// Digests every source in order.
pub fn run(sources: Vec<Source>, opts: &RunOptions) -> Result<RunOutput, RunError> {
    let mut out = RunOutput::default();
    for src in sources {
        run_one(src, opts, &mut out)?;
    }
    Ok(out)
}

fn read_full(
    r: &mut dyn Read,
    buf: &mut Vec<u8>,
    want: usize,
    name: &str,
) -> Result<bool, RunError> {
    // Reads until `buf` holds `want` bytes or the input ends; returns whether it ended.
    let start = buf.len();
    buf.resize(want.max(start), 0);
    let mut filled = start;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(true);
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(RunError::Read {
                    name: name.to_string(),
                    source: e,
                });
            }
        }
    }
    Ok(false)
}

fn choose_format(head: &[u8], opts: &RunOptions, name: &str) -> Result<LogFormat, RunError> {
    let f = match opts.format {
        FormatChoice::Auto => LogFormat::detect(head, opts.prefix.as_ref()),
        FormatChoice::MySql => Some(LogFormat::MySql),
        FormatChoice::PgCsv => Some(LogFormat::PgCsv),
        FormatChoice::PgJson => Some(LogFormat::PgJson),
        FormatChoice::PgStderr => match &opts.prefix {
            Some(p) => Some(LogFormat::PgStderr(p.clone())),
            None => match LogFormat::detect(head, None) {
                Some(f @ LogFormat::PgStderr(_)) => Some(f),
                _ => Prefix::parse("%m [%p] ").ok().map(LogFormat::PgStderr),
            },
        },
    };
    f.ok_or_else(|| RunError::UnknownFormat {
        name: name.to_string(),
    })
}

fn run_one(mut src: Source, opts: &RunOptions, out: &mut RunOutput) -> Result<(), RunError> {
    let chunk_size = opts.chunk_size.max(4096);
    let mut buf = Vec::with_capacity(chunk_size);
    let mut eof = read_full(&mut src.reader, &mut buf, chunk_size, &src.name)?;
    if buf.is_empty() {
        out.files.push(FileSummary {
            name: src.name,
            format: "empty".into(),
            bytes: 0,
        });
        return Ok(());
    }
    let format = Arc::new(choose_format(&buf, opts, &src.name)?);
    let dialect = if format.is_postgres() {
        Dialect::Postgres
    } else {
        Dialect::MySql
    };
    out.dialect.get_or_insert(dialect);
    let fp_opts = Options {
        dialect,
        ansi_quotes: opts.ansi_quotes,
    };
    let threads = opts.threads.max(1);
    let (tx, rx) = sync_channel::<Chunk>(threads * 2);
    let rx = Arc::new(Mutex::new(rx));
    let mut bytes = 0u64;

    let results = std::thread::scope(
        |scope| -> Result<Vec<(Aggregator, Issues, Counters)>, RunError> {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let rx = Arc::clone(&rx);
                    let format = Arc::clone(&format);
                    let filter = &opts.filter;
                    scope.spawn(move || worker(&rx, &format, fp_opts, filter))
                })
                .collect();
            let mut info = ChunkInfo {
                first_line: 1,
                last: false,
                carry: Carry::default(),
            };
            let mut send_err = false;
            loop {
                // Cut before the last event that starts in the buffer; with no boundary, read
                // more (one event bigger than a chunk), up to a hard cap.
                let cut = if eof {
                    buf.len()
                } else {
                    match format.last_boundary(&buf) {
                        Some(b) => b,
                        None if buf.len() >= chunk_size * 32 => buf.len(),
                        None => {
                            let want = buf.len() + chunk_size;
                            eof = read_full(&mut src.reader, &mut buf, want, &src.name)?;
                            continue;
                        }
                    }
                };
                let rest = buf.split_off(cut);
                let data = std::mem::replace(&mut buf, rest);
                bytes += data.len() as u64;
                info.last = eof && buf.is_empty();
                let next_carry = format.carry_after(&data, &info.carry);
                let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
                let chunk = Chunk {
                    data,
                    info: info.clone(),
                };
                if tx.send(chunk).is_err() {
                    send_err = true;
                    break;
                }
                info.first_line += lines;
                info.carry = next_carry;
                if eof && buf.is_empty() {
                    break;
                }
                if !eof {
                    let want = buf.len() + chunk_size;
                    buf.reserve(chunk_size);
                    eof = read_full(&mut src.reader, &mut buf, want, &src.name)?;
                }
            }
            drop(tx);
            let _ = send_err;
            let mut results = Vec::new();
            for w in workers {
                match w.join() {
                    Ok(r) => results.push(r),
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            Ok(results)
        },
    )?;

    for (agg, mut issues, counters) in results {
        for s in &mut issues.samples {
            s.file.clone_from(&src.name);
        }
        out.agg.merge(agg);
        out.issues.merge(issues);
        out.counters.merge(counters);
    }
    out.files.push(FileSummary {
        name: src.name,
        format: format.name(),
        bytes,
    });
    Ok(())
}

fn worker(
    rx: &Mutex<Receiver<Chunk>>,
    format: &LogFormat,
    opts: Options,
    filter: &Filter,
) -> (Aggregator, Issues, Counters) {
    let mut agg = Aggregator::default();
    let mut issues = Issues::default();
    let mut counters = Counters::default();
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => break,
        };
        let Ok(chunk) = next else { break };
        format.parse_chunk(
            &chunk.data,
            &chunk.info,
            &mut issues,
            &mut counters,
            &mut |e| agg.add(e, opts, filter),
        );
    }
    (agg, issues, counters)
}
