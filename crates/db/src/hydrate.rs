//! Hydration: the `description` of an installed skill, read from the frontmatter of
//! its `SKILL.md`.
//!
//! `imported_skills` does not store a description; [`crate::imported_skills`] fills it
//! after each read from `<disk_path>/SKILL.md`. The frontmatter is the block between a
//! first line `---` and the next line `---` (or `...`); only the top-level
//! `description:` key is read. Plain, single-quoted, double-quoted (with escapes),
//! multi-line plain and block (`|`, `>`) values are understood. No YAML dependency:
//! anything else (an unreadable file, no frontmatter, no key, an empty value) gives
//! `None`.
//!
//! ```
//! use skill_builder_db::hydrate::parse_description;
//!
//! let md = "---\nname: pdf-tools\ndescription: \"Fill PDF forms\"\n---\n# PDF tools\n";
//! assert_eq!(parse_description(md).as_deref(), Some("Fill PDF forms"));
//! assert_eq!(parse_description("# no frontmatter"), None);
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The file read inside a skill's folder.
pub const SKILL_FILE: &str = "SKILL.md";

/// Frontmatter longer than this is not read (a file without a closing delimiter would
/// otherwise be read whole).
const MAX_FRONTMATTER_BYTES: usize = 256 * 1024;

/// The frontmatter `description` of `<skill_dir>/SKILL.md`.
///
/// Reads only up to the closing delimiter of the frontmatter, not the whole file.
/// `None` when the file cannot be opened or read, has no frontmatter, or no non-empty
/// `description`. This is blocking file I/O on one small file.
#[must_use]
pub fn read_description(skill_dir: impl AsRef<Path>) -> Option<String> {
    let file = File::open(skill_dir.as_ref().join(SKILL_FILE)).ok()?;
    // `take` bounds every read, also of a line that never ends (or a pipe).
    let limit = u64::try_from(MAX_FRONTMATTER_BYTES + 1).unwrap_or(u64::MAX);
    let mut reader = BufReader::new(file.take(limit));
    let mut text = String::new();
    let mut first = true;
    loop {
        let before = text.len();
        let read = reader.read_line(&mut text).ok()?;
        if read == 0 {
            break;
        }
        let line = strip_bom(text[before..].trim_end());
        if first {
            if line != "---" {
                return None;
            }
            first = false;
        } else if line == "---" || line == "..." {
            break;
        }
        if text.len() > MAX_FRONTMATTER_BYTES {
            return None;
        }
    }
    parse_description(&text)
}

/// The frontmatter `description` of a `SKILL.md` text (see the module docs).
#[must_use]
pub fn parse_description(markdown: &str) -> Option<String> {
    let lines = frontmatter_lines(markdown)?;
    let (index, rest) = lines.iter().enumerate().find_map(|(i, line)| {
        let (key, rest) = line.split_once(':')?;
        let key = key.trim_end();
        let key = key
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
            .unwrap_or(key);
        let top_level = !line.starts_with([' ', '\t']);
        let separated = rest.is_empty() || rest.starts_with([' ', '\t']);
        (top_level && separated && key == "description").then_some((i, rest))
    })?;
    let following = &lines[index + 1..];
    let value = rest.trim();
    let parsed = if let Some(quoted) = value.strip_prefix('"') {
        double_quoted(quoted, following)
    } else if let Some(quoted) = value.strip_prefix('\'') {
        single_quoted(quoted, following)
    } else if value.starts_with('|') {
        // Chomping/indentation indicators only affect trailing newlines, trimmed below.
        Some(block(following, false))
    } else if value.starts_with('>') {
        Some(block(following, true))
    } else {
        Some(plain(value, following))
    }?;
    let trimmed = parsed.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The lines between the opening and closing delimiters, without line endings.
fn frontmatter_lines(markdown: &str) -> Option<Vec<&str>> {
    let mut lines = strip_bom(markdown)
        .lines()
        .map(|l| l.trim_end_matches('\r'));
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let mut body = Vec::new();
    for line in lines {
        if matches!(line.trim_end(), "---" | "...") {
            return Some(body);
        }
        body.push(line);
    }
    None
}

/// Lines that continue a value: indented or blank, up to the next top-level line.
fn continuation<'a>(following: &[&'a str]) -> Vec<&'a str> {
    following
        .iter()
        .take_while(|l| l.trim().is_empty() || l.starts_with([' ', '\t']))
        .copied()
        .collect()
}

/// Folds lines the YAML way: single breaks become spaces, blank lines become `\n`.
fn fold<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut pending_blank = 0_usize;
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            pending_blank += 1;
            continue;
        }
        if !out.is_empty() {
            if pending_blank > 0 {
                out.push_str(&"\n".repeat(pending_blank));
            } else {
                out.push(' ');
            }
        }
        pending_blank = 0;
        out.push_str(part);
    }
    out
}

fn plain(first: &str, following: &[&str]) -> String {
    let strip_comment = |s: &str| -> String {
        if s.starts_with('#') {
            return String::new();
        }
        match s.find(" #").or_else(|| s.find("\t#")) {
            Some(at) => s[..at].to_owned(),
            None => s.to_owned(),
        }
    };
    let mut parts = vec![strip_comment(first)];
    parts.extend(
        continuation(following)
            .into_iter()
            .map(|l| strip_comment(l.trim())),
    );
    // Trailing blank lines end the scalar rather than adding breaks.
    while parts.last().is_some_and(|p| p.trim().is_empty()) {
        parts.pop();
    }
    fold(parts.iter().map(String::as_str))
}

fn block(following: &[&str], folded: bool) -> String {
    let lines = continuation(following);
    let indent = lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start().len());
    let body = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end());
    if folded {
        fold(body)
    } else {
        body.collect::<Vec<_>>().join("\n")
    }
}

/// Collects a quoted scalar that may span lines; `close` finds the end of the value in
/// one line (returning the content and whether it closed).
fn quoted(
    first: &str,
    following: &[&str],
    close: impl Fn(&str) -> Option<(String, bool)>,
) -> Option<String> {
    let mut parts = Vec::new();
    for line in std::iter::once(first).chain(following.iter().copied()) {
        let (content, closed) = close(line)?;
        parts.push(content);
        if closed {
            return Some(fold_quoted(&parts));
        }
    }
    None
}

/// Joins the physical lines of a quoted scalar: inner whitespace at line breaks is
/// trimmed, single breaks become a space, blank lines a `\n`.
fn fold_quoted(parts: &[String]) -> String {
    let last = parts.len().saturating_sub(1);
    let mut out = String::new();
    let mut pending_blank = 0_usize;
    for (i, part) in parts.iter().enumerate() {
        let mut piece = part.as_str();
        if i > 0 {
            piece = piece.trim_start_matches([' ', '\t']);
        }
        if i < last {
            piece = piece.trim_end_matches([' ', '\t']);
        }
        if i > 0 && i < last && piece.is_empty() {
            pending_blank += 1;
            continue;
        }
        if i > 0 {
            if pending_blank > 0 {
                out.push_str(&"\n".repeat(pending_blank));
            } else {
                out.push(' ');
            }
        }
        pending_blank = 0;
        out.push_str(piece);
    }
    out
}

fn single_quoted(first: &str, following: &[&str]) -> Option<String> {
    quoted(first, following, |line| {
        let mut content = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    content.push('\'');
                } else {
                    return Some((content, true));
                }
            } else {
                content.push(c);
            }
        }
        Some((content, false))
    })
}

fn double_quoted(first: &str, following: &[&str]) -> Option<String> {
    quoted(first, following, |line| {
        let mut content = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some((content, true)),
                '\\' => {
                    let escaped = match chars.next()? {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        ' ' => ' ',
                        'u' => hex_char(&mut chars, 4)?,
                        'x' => hex_char(&mut chars, 2)?,
                        'U' => hex_char(&mut chars, 8)?,
                        _ => return None,
                    };
                    content.push(escaped);
                }
                other => content.push(other),
            }
        }
        Some((content, false))
    })
}

fn hex_char(chars: &mut std::str::Chars<'_>, digits: usize) -> Option<char> {
    let hex: String = chars.by_ref().take(digits).collect();
    if hex.len() != digits {
        return None;
    }
    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(body: &str) -> String {
        format!("---\nname: x\n{body}\n---\n# Title\n\ndescription: not this one\n")
    }

    #[test]
    fn plain_value() {
        assert_eq!(
            parse_description(&fm("description: Fill PDF forms")).as_deref(),
            Some("Fill PDF forms")
        );
    }

    #[test]
    fn plain_value_with_colon_and_comment() {
        assert_eq!(
            parse_description(&fm("description: Use when: a PDF # a comment")).as_deref(),
            Some("Use when: a PDF")
        );
        assert_eq!(
            parse_description(&fm("description: issue#42 stays")).as_deref(),
            Some("issue#42 stays")
        );
    }

    #[test]
    fn double_quoted_with_escapes() {
        assert_eq!(
            parse_description(&fm(r#"description: "Say \"hi\": a\tb \u00e9 # kept""#)).as_deref(),
            Some("Say \"hi\": a\tb é # kept")
        );
    }

    #[test]
    fn single_quoted_with_doubled_quote() {
        assert_eq!(
            parse_description(&fm("description: 'It''s: quoted'")).as_deref(),
            Some("It's: quoted")
        );
    }

    #[test]
    fn quoted_values_spanning_lines_fold() {
        assert_eq!(
            parse_description(&fm("description: \"first\n  second\n\n  third\"")).as_deref(),
            Some("first second\nthird")
        );
        assert_eq!(
            parse_description(&fm("description: 'a\n  b'")).as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn unterminated_quote_is_none() {
        assert_eq!(parse_description(&fm("description: \"never closed")), None);
        assert_eq!(
            parse_description(&fm(r#"description: "bad \q escape""#)),
            None
        );
    }

    #[test]
    fn multi_line_plain_value() {
        assert_eq!(
            parse_description(&fm(
                "description:\n  Fill forms\n  and merge PDFs\nmodel: opus"
            ))
            .as_deref(),
            Some("Fill forms and merge PDFs")
        );
    }

    #[test]
    fn literal_and_folded_blocks() {
        assert_eq!(
            parse_description(&fm(
                "description: |\n  line one\n    indented\n  line two\nx: 1"
            ))
            .as_deref(),
            Some("line one\n  indented\nline two")
        );
        assert_eq!(
            parse_description(&fm("description: >-\n  folded\n  text\n\n  para\n")).as_deref(),
            Some("folded text\npara")
        );
    }

    #[test]
    fn crlf_and_bom() {
        let md = "\u{feff}---\r\ndescription: Windows\r\n---\r\nbody\r\n";
        assert_eq!(parse_description(md).as_deref(), Some("Windows"));
    }

    #[test]
    fn nested_or_prefixed_keys_are_ignored() {
        assert_eq!(
            parse_description(&fm("metadata:\n  description: nested\ndescriptions: no")),
            None
        );
        assert_eq!(
            parse_description(&fm("\"description\": quoted key")).as_deref(),
            Some("quoted key")
        );
        assert_eq!(
            parse_description(&fm("description : spaced key")).as_deref(),
            Some("spaced key")
        );
    }

    #[test]
    fn missing_or_empty_is_none() {
        assert_eq!(parse_description(""), None);
        assert_eq!(parse_description("# Title\ndescription: body only"), None);
        assert_eq!(parse_description("---\ndescription: unclosed\n"), None);
        assert_eq!(parse_description(&fm("description:")), None);
        assert_eq!(parse_description(&fm("description: \"\"")), None);
        assert_eq!(parse_description(&fm("model: opus")), None);
    }

    #[test]
    fn dots_close_the_block() {
        assert_eq!(
            parse_description("---\ndescription: dotted\n...\nbody").as_deref(),
            Some("dotted")
        );
    }

    #[test]
    fn read_from_disk() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("hydrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(SKILL_FILE),
            "---\ndescription: 'On disk'\n---\n".to_owned() + &"x".repeat(100_000),
        )?;
        assert_eq!(read_description(&dir).as_deref(), Some("On disk"));
        std::fs::write(dir.join(SKILL_FILE), "no frontmatter")?;
        assert_eq!(read_description(&dir), None);
        std::fs::write(dir.join(SKILL_FILE), [0xff, 0xfe, 0x00])?;
        assert_eq!(read_description(&dir), None);
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(read_description(&dir), None);
        assert_eq!(read_description("/definitely/not/here"), None);
        Ok(())
    }
}
