//! A streaming sitemap reader (sitemaps.org 0.9): `<urlset>` of `<url>`s and
//! `<sitemapindex>` of `<sitemap>`s, each with its `<loc>` and `<lastmod>`, read
//! one entry at a time from any `BufRead` (gzip found by its magic bytes), so a
//! sitemap of a million URLs is never held whole: memory is one entry, plus a
//! bound on any single element ([`MAX_EVENT_BYTES`]) and on nesting
//! ([`MAX_DEPTH`]) so hostile input cannot grow it either.

use std::io::{BufRead, BufReader, Read};

use quick_xml::events::Event;

/// The longest single tag or text run accepted (the spec caps a URL at 2,048
/// characters; this leaves room for comments and whitespace).
pub const MAX_EVENT_BYTES: u64 = 64 * 1024;
/// Sitemaps nest three deep (`urlset/url/loc`); extensions a little more.
pub const MAX_DEPTH: usize = 32;

/// What one entry of a sitemap points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page (`<urlset><url>`).
    Page,
    /// Another sitemap (`<sitemapindex><sitemap>`).
    Sitemap,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub loc: String,
    /// As written (W3C datetime); see [`super::lastmod`].
    pub lastmod: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SitemapError {
    #[error("not XML ({0})")]
    NotXml(String),
    #[error(
        "XML but not a sitemap: the root element is <{0}>, expected <urlset> or <sitemapindex>"
    )]
    NotASitemap(String),
    #[error("broken sitemap at byte {at}: {why}")]
    Broken { at: u64, why: String },
    #[error("named .gz but not gzip (it starts with {0:?})")]
    FakeGzip(String),
    #[error("broken gzip: {0}")]
    BadGzip(#[source] std::io::Error),
    #[error("cannot read it: {0}")]
    Io(#[source] std::io::Error),
}

/// Counts bytes handed to the XML reader and refuses to hand out more than
/// [`MAX_EVENT_BYTES`] past the start of the current event: quick-xml buffers a
/// whole event, so this is what bounds its buffer.
struct Bounded<R> {
    inner: R,
    pos: u64,
    limit: u64,
}

impl<R: BufRead> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos >= self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                ElementTooLong,
            ));
        }
        let room = usize::try_from(self.limit - self.pos).unwrap_or(usize::MAX);
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(room)])
    }

    fn consume(&mut self, n: usize) {
        self.pos += n as u64;
        self.inner.consume(n);
    }
}

#[derive(Debug, thiserror::Error)]
#[error("an element or text longer than {MAX_EVENT_BYTES} bytes")]
struct ElementTooLong;

/// Bytes that may be gzip: decoded when they start with gzip's magic, passed on
/// as they are otherwise. `named_gz` (the URL or file ends in `.gz`) makes plain
/// bytes an error: a `.gz` that is not gzip is a broken export, not XML to guess at.
pub fn decompressed<'a, R: BufRead + 'a>(
    mut input: R,
    named_gz: bool,
) -> Result<Box<dyn BufRead + 'a>, SitemapError> {
    let head = input.fill_buf().map_err(SitemapError::Io)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(input);
        return Ok(Box::new(BufReader::with_capacity(64 * 1024, GzErrors(gz))));
    }
    if named_gz {
        let shown: String = String::from_utf8_lossy(&head[..head.len().min(16)]).into_owned();
        return Err(SitemapError::FakeGzip(shown));
    }
    Ok(Box::new(input))
}

/// Marks errors of the gzip decoder as such, so the reader can say "broken gzip".
struct GzErrors<R>(R);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct GzError(std::io::Error);

impl<R: Read> Read for GzErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, GzError(e)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Unknown,
    UrlSet,
    Index,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Loc,
    Lastmod,
}

/// Reads entries one by one. Elements of other namespaces (images, news,
/// alternates) are skipped; only the sitemap's own `url`/`sitemap`, `loc` and
/// `lastmod` count, wherever their prefix.
pub struct SitemapReader<R: BufRead> {
    xml: quick_xml::Reader<Bounded<R>>,
    buf: Vec<u8>,
    root: Root,
    depth: usize,
    /// Inside an entry (`url` or `sitemap` directly under the root).
    in_entry: bool,
    field: Field,
    loc: String,
    lastmod: String,
    done: bool,
}

impl<R: BufRead> SitemapReader<R> {
    pub fn new(input: R) -> SitemapReader<R> {
        let mut xml = quick_xml::Reader::from_reader(Bounded {
            inner: input,
            pos: 0,
            limit: MAX_EVENT_BYTES,
        });
        let config = xml.config_mut();
        config.trim_text(true);
        config.check_end_names = true;
        SitemapReader {
            xml,
            buf: Vec::new(),
            root: Root::Unknown,
            depth: 0,
            in_entry: false,
            field: Field::None,
            loc: String::new(),
            lastmod: String::new(),
            done: false,
        }
    }

    /// `true` once the root element was seen to be `<sitemapindex>`.
    pub fn is_index(&self) -> bool {
        self.root == Root::Index
    }

    fn broken(&self, why: impl Into<String>) -> SitemapError {
        SitemapError::Broken {
            at: self.xml.buffer_position(),
            why: why.into(),
        }
    }

    fn xml_error(&self, e: quick_xml::Error) -> SitemapError {
        if let quick_xml::Error::Io(io) = &e {
            let inner = io.get_ref();
            if let Some(gz) = inner.and_then(|i| i.downcast_ref::<GzError>()) {
                return SitemapError::BadGzip(std::io::Error::new(gz.0.kind(), gz.0.to_string()));
            }
            if inner.is_some_and(|i| i.is::<ElementTooLong>()) {
                return self.broken(ElementTooLong.to_string());
            }
            if self.root == Root::Unknown {
                return SitemapError::Io(std::io::Error::new(io.kind(), io.to_string()));
            }
        }
        if self.root == Root::Unknown {
            SitemapError::NotXml(e.to_string())
        } else {
            self.broken(e.to_string())
        }
    }

    /// The next entry, `None` at the end of the document.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, SitemapError> {
        while !self.done {
            self.buf.clear();
            let start = self.xml.buffer_position();
            self.xml.get_mut().limit = start + MAX_EVENT_BYTES;
            // Owned, so the handlers may use `self`; one small copy per event.
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(e) => e.into_owned(),
                Err(e) => return Err(self.xml_error(e)),
            };
            match event {
                Event::Start(tag) => {
                    let name = local(tag.local_name().as_ref());
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(self.broken(format!("nested deeper than {MAX_DEPTH}")));
                    }
                    self.open(&name, tag.name().as_ref() == tag.local_name().as_ref())?;
                }
                Event::Empty(tag) => {
                    let name = local(tag.local_name().as_ref());
                    if self.root == Root::Unknown {
                        // `<urlset/>`: an empty sitemap, which is fine.
                        self.depth += 1;
                        self.open(&name, true)?;
                        self.depth -= 1;
                        self.done = true;
                    }
                }
                Event::End(tag) => {
                    let name = local(tag.local_name().as_ref());
                    let entry = self.close(&name);
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.done = true;
                    }
                    if entry.is_some() {
                        return Ok(entry);
                    }
                }
                Event::Text(t) => {
                    if self.root == Root::Unknown {
                        return Err(SitemapError::NotXml(format!(
                            "text before any element: {:?}",
                            clip(&String::from_utf8_lossy(&t))
                        )));
                    }
                    let text = t.decode().map_err(|e| self.broken(e.to_string()))?;
                    self.push_text(&text);
                }
                Event::CData(t) => {
                    let text = t.decode().map_err(|e| self.broken(e.to_string()))?;
                    self.push_text(&text);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = r.decode().map_err(|e| self.broken(e.to_string()))?;
                            match quick_xml::escape::resolve_predefined_entity(&name) {
                                Some(s) => s.to_string(),
                                None => {
                                    return Err(self.broken(format!("unknown entity &{name};")));
                                }
                            }
                        }
                        Err(e) => return Err(self.broken(e.to_string())),
                    };
                    self.push_text(&resolved);
                }
                Event::Eof => {
                    if self.root == Root::Unknown {
                        return Err(SitemapError::NotXml("no root element".into()));
                    }
                    if self.depth > 0 {
                        return Err(self.broken("the document ends inside an element"));
                    }
                    self.done = true;
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
        Ok(None)
    }

    fn open(&mut self, name: &str, _unprefixed: bool) -> Result<(), SitemapError> {
        match (self.root, self.depth) {
            (Root::Unknown, 1) => {
                self.root = match name {
                    "urlset" => Root::UrlSet,
                    "sitemapindex" => Root::Index,
                    other => return Err(SitemapError::NotASitemap(clip(other))),
                };
            }
            (Root::UrlSet, 2) if name == "url" => self.begin_entry(),
            (Root::Index, 2) if name == "sitemap" => self.begin_entry(),
            (_, 3) if self.in_entry => {
                self.field = match name {
                    "loc" => Field::Loc,
                    "lastmod" => Field::Lastmod,
                    _ => Field::None,
                };
            }
            _ => self.field = Field::None,
        }
        Ok(())
    }

    fn begin_entry(&mut self) {
        self.in_entry = true;
        self.loc.clear();
        self.lastmod.clear();
    }

    fn push_text(&mut self, text: &str) {
        // Bounded by the element limit: a loc is one text event (or a few, around
        // entities), each at most MAX_EVENT_BYTES; more than that is refused here.
        let target = match self.field {
            Field::Loc => &mut self.loc,
            Field::Lastmod => &mut self.lastmod,
            Field::None => return,
        };
        if target.len() + text.len() <= MAX_EVENT_BYTES as usize {
            target.push_str(text);
        }
    }

    fn close(&mut self, name: &str) -> Option<Entry> {
        match self.depth {
            3 => {
                self.field = Field::None;
                None
            }
            2 if self.in_entry && (name == "url" || name == "sitemap") => {
                self.in_entry = false;
                let loc = self.loc.trim();
                if loc.is_empty() {
                    // An entry without a location names nothing to warm.
                    return None;
                }
                let lastmod = self.lastmod.trim();
                Some(Entry {
                    kind: if self.root == Root::Index {
                        Kind::Sitemap
                    } else {
                        Kind::Page
                    },
                    loc: loc.to_string(),
                    lastmod: (!lastmod.is_empty()).then(|| lastmod.to_string()),
                })
            }
            _ => None,
        }
    }
}

impl<R: BufRead> Iterator for SitemapReader<R> {
    type Item = Result<Entry, SitemapError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_entry() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => None,
            Err(e) => {
                // One error ends the document: a parser past a syntax error guesses.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], named_gz: bool) -> Result<Vec<Entry>, SitemapError> {
        let input = decompressed(bytes, named_gz)?;
        SitemapReader::new(input).collect()
    }

    fn fixture(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sitemaps")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn the_sandbox_index_names_its_gzipped_child() {
        let entries = read_all(&fixture("sandbox-index.xml"), false).unwrap();
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].kind, Kind::Sitemap);
        assert!(
            entries[0].loc.ends_with("/sitemap-products.xml.gz"),
            "{entries:?}"
        );
    }

    #[test]
    fn the_sandbox_products_sitemap_has_every_page() {
        let entries = read_all(&fixture("sandbox-products.xml.gz"), true).unwrap();
        assert_eq!(entries.len(), 1531);
        assert!(entries.iter().all(|e| e.kind == Kind::Page));
        assert!(entries.iter().all(|e| e.loc.starts_with("https://")));
    }

    #[test]
    fn entities_cdata_prefixes_and_extensions() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<s:urlset xmlns:s="http://www.sitemaps.org/schemas/sitemap/0.9"
          xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <s:url>
    <s:loc>https://shop.test/search?q=a&amp;page=2&#38;x=&#x31;</s:loc>
    <s:lastmod>2026-11-30</s:lastmod>
    <image:image><image:loc>https://cdn.test/a.png</image:loc></image:image>
  </s:url>
  <s:url><s:loc><![CDATA[https://shop.test/b?x=1&y=2]]></s:loc></s:url>
  <s:url><s:lastmod>2026-01-01</s:lastmod></s:url>
</s:urlset>"#;
        let e = read_all(xml, false).unwrap();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].loc, "https://shop.test/search?q=a&page=2&x=1");
        assert_eq!(e[0].lastmod.as_deref(), Some("2026-11-30"));
        assert_eq!(e[1].loc, "https://shop.test/b?x=1&y=2");
        assert_eq!(e[1].lastmod, None);
    }

    #[test]
    fn an_empty_urlset_is_an_empty_sitemap() {
        assert!(read_all(b"<urlset/>", false).unwrap().is_empty());
        assert!(read_all(b"<urlset></urlset>", false).unwrap().is_empty());
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        let msg = |b: &[u8], gz| read_all(b, gz).unwrap_err().to_string();
        assert!(msg(b"hello world", false).starts_with("not XML"));
        assert!(msg(b"", false).starts_with("not XML"));
        let html = msg(b"<!DOCTYPE html><html><body>hi</body></html>", false);
        assert!(html.contains("root element is <html>"), "{html}");
        let broken = msg(b"<urlset><url><loc>https://a/</url></urlset>", false);
        assert!(broken.starts_with("broken sitemap"), "{broken}");
        let cut = msg(b"<urlset><url><loc>https://a/</loc>", false);
        assert!(cut.contains("ends inside"), "{cut}");
        assert!(msg(b"<urlset>", true).starts_with("named .gz but not gzip"));
        let badgz = msg(
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
            false,
        );
        assert!(badgz.starts_with("broken gzip"), "{badgz}");
    }

    #[test]
    fn hostile_input_stays_bounded() {
        let deep = "<urlset>".to_string() + &"<a>".repeat(100);
        assert!(
            read_all(deep.as_bytes(), false)
                .unwrap_err()
                .to_string()
                .contains("nested deeper")
        );
        let long = format!(
            "<urlset><url><loc>{}</loc></url></urlset>",
            "x".repeat(200_000)
        );
        assert!(
            read_all(long.as_bytes(), false)
                .unwrap_err()
                .to_string()
                .contains("longer than")
        );
    }

    #[test]
    fn a_gzipped_sitemap_is_found_by_its_magic_whatever_its_name() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"<urlset><url><loc>https://a.test/x</loc></url></urlset>")
            .unwrap();
        let bytes = gz.finish().unwrap();
        assert_eq!(read_all(&bytes, false).unwrap()[0].loc, "https://a.test/x");
        assert_eq!(read_all(&bytes, true).unwrap().len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512), gz: bool) {
            if let Ok(input) = decompressed(&bytes[..], gz) {
                for _ in SitemapReader::new(input) {}
            }
        }

        #[test]
        fn never_panics_on_sitemap_like_text(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<urlset>", "</urlset>", "<sitemapindex>", "</sitemapindex>", "<url>", "</url>",
                "<sitemap>", "</sitemap>", "<loc>", "</loc>", "<lastmod>", "</lastmod>",
                "https://a.test/p", "&amp;", "&#x0;", "&bogus;", "<![CDATA[x]]>", "<!--c-->",
                "<?xml version=\"1.0\"?>", "<a:url>", "<", ">", "&", " ", "é",
            ]), 0..40)
        ) {
            let text = parts.concat();
            for _ in SitemapReader::new(text.as_bytes()) {}
        }
    }
}
