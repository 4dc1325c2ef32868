//! Hydration: the `description` of an installed skill, read from the frontmatter of
//! its `SKILL.md`.
//!
//! `imported_skills` does not store a description; [`crate::imported_skills`] fills it
//! after each read from `<disk_path>/SKILL.md`. The frontmatter is the block between a
//! first line `---` and the next line `---` (or `...`); a byte-order mark before the
//! first line and CRLF line ends are accepted. That block is parsed as one YAML 1.2
//! document by [`serde_saphyr`] (a maintained, panic-free YAML parser), with its
//! resource budget on and tightened to the size of a frontmatter (256 KiB), so a hostile file cannot make it allocate or loop without
//! bound. Everything YAML allows is understood: plain, quoted (with escapes) and block
//! scalars (`|`, `>`, chomping `-`/`+`, indentation indicators such as `|2`), comments,
//! anchors and aliases, tags (`!!str`), explicit keys (`? description`) and flow-style
//! mappings (`{name: x, description: y}`).
//!
//! Only the top-level `description` key of a mapping is read, and only when its value is
//! a **string** node, in the YAML 1.2 core schema:
//!
//! - a plain scalar that YAML resolves to another type is not a description: `~`,
//!   `null` or nothing (null), `true`/`false` (bool), `42`, `1.5`, `.nan` (numbers) give
//!   `None` — quote it (`"42"`) or tag it (`!!str 42`) to make it text. YAML 1.1
//!   spellings such as `yes`/`no`/`on` are strings, as in YAML 1.2;
//! - a sequence or mapping gives `None`.
//!
//! The string is trimmed of leading and trailing whitespace (so block chomping only
//! matters inside it); an empty result is `None`. A file that cannot be read, has no
//! frontmatter, is not valid YAML (an unterminated quote, a bad escape, a duplicate key,
//! a tab indent …), is over a budget, or whose document is not a mapping also gives
//! `None`. Nothing here panics.
//!
//! # Changes from the earlier hand-written parser
//!
//! This module used to read a hand-written subset of YAML that disagreed with YAML on
//! several of the shapes listed above (`|2` dropped characters, `*alias`, `~` and
//! `!!str x` came back literally, flow mappings and `? description` were not found, the
//! more-indented lines of a folded block were joined). Besides those, a duplicate `description` key and a frontmatter that is not
//! valid YAML now give `None` (the subset took the first key and ignored the rest), and
//! a description that YAML types as null, a bool or a number gives `None` (the subset
//! returned its text).
//!
//! ```
//! use skill_builder_db::hydrate::parse_description;
//!
//! let md = "---\nname: pdf-tools\ndescription: \"Fill PDF forms\"\n---\n# PDF tools\n";
//! assert_eq!(parse_description(md).as_deref(), Some("Fill PDF forms"));
//! assert_eq!(parse_description("# no frontmatter"), None);
//! assert_eq!(parse_description("---\n{name: x, description: Flow}\n---\n").as_deref(), Some("Flow"));
//! assert_eq!(parse_description("---\ndescription: 42\n---\n"), None);
//! ```

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// The file read inside a skill's folder.
pub const SKILL_FILE: &str = "SKILL.md";

/// Frontmatter longer than this is not read (a file without a closing delimiter would
/// otherwise be read whole), and the YAML budget is sized from it.
const MAX_FRONTMATTER_BYTES: usize = 256 * 1024;

/// The frontmatter `description` of `<skill_dir>/SKILL.md`.
///
/// Reads only up to the closing delimiter of the frontmatter, not the whole file, and
/// never more than 256 KiB of it (also of a line that never ends, or a
/// pipe). `None` when the file cannot be opened or read, has no frontmatter, or no
/// non-empty string `description` (see the module docs). This is blocking file I/O on
/// one small file.
#[must_use]
pub fn read_description(skill_dir: impl AsRef<Path>) -> Option<String> {
    let _span = tracing::debug_span!("read_description").entered();
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
        } else if is_closing(line) {
            break;
        }
        if text.len() > MAX_FRONTMATTER_BYTES {
            return None;
        }
    }
    parse_description(&text)
}

/// The frontmatter `description` of a `SKILL.md` text (see the module docs).
///
/// A frontmatter longer than 256 KiB gives `None`.
#[must_use]
pub fn parse_description(markdown: &str) -> Option<String> {
    let yaml = frontmatter(markdown)?;
    if yaml.len() > MAX_FRONTMATTER_BYTES {
        return None;
    }
    let front: Frontmatter = serde_saphyr::from_str_with_options(yaml, yaml_options()).ok()?;
    let text = front.description?.0;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The parser's options: YAML 1.2 core booleans, duplicate keys refused, and a budget
/// sized for a frontmatter of at most [`MAX_FRONTMATTER_BYTES`] (one document, shallow,
/// few aliases, scalar bytes — alias expansions included — a few times the input).
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_FRONTMATTER_BYTES);
    budget.max_documents = 1;
    budget.max_depth = 32;
    budget.max_events = 100_000;
    budget.max_nodes = 50_000;
    budget.max_anchors = 1_000;
    budget.max_aliases = 1_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_recorded_anchor_bytes = 4 * MAX_FRONTMATTER_BYTES;
    budget.max_total_scalar_bytes = 4 * MAX_FRONTMATTER_BYTES;
    budget.max_merge_keys = 100;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    options.alias_limits.max_replay_stack_depth = 16;
    options.strict_booleans = true;
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::Error;
    options.with_snippet = false;
    options
}

/// The part of the frontmatter this module reads; every other key is skipped unread.
#[derive(Deserialize)]
struct Frontmatter {
    #[serde(default)]
    description: Option<StringNode>,
}

/// A YAML node that is a string: any other scalar type, a sequence or a mapping fails
/// the whole document (and so gives `None`).
struct StringNode(String);

impl<'de> Deserialize<'de> for StringNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringVisitor)
    }
}

struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = StringNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StringNode, E> {
        Ok(StringNode(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StringNode, E> {
        Ok(StringNode(v))
    }
}

fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A line that closes the frontmatter: `---` or `...` (trailing whitespace allowed).
fn is_closing(line: &str) -> bool {
    matches!(line.trim_end(), "---" | "...")
}

/// The text between the opening and closing delimiter lines (line ends kept), or
/// `None` when there is no opening `---` line or no closing one.
fn frontmatter(markdown: &str) -> Option<&str> {
    let text = strip_bom(markdown);
    let mut lines = text.split_inclusive('\n');
    let opening = lines.next()?;
    if opening.trim_end() != "---" {
        return None;
    }
    let start = opening.len();
    let mut end = start;
    for line in lines {
        if is_closing(line) {
            return text.get(start..end);
        }
        end += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SKILL.md whose frontmatter is `name: x` and `body`, followed by a body with a
    /// `description:` line that must not be read.
    fn fm(body: &str) -> String {
        format!("---\nname: x\n{body}\n---\n# Title\n\ndescription: not this one\n")
    }

    /// The description of the frontmatter `body`.
    fn desc_of(body: &str) -> Option<String> {
        parse_description(&fm(body))
    }

    /// Each frontmatter `body` gives its expected description.
    fn cases(cases: &[(&str, Option<&str>)]) {
        for (body, want) in cases {
            assert_eq!(desc_of(body).as_deref(), *want, "{body:?}");
        }
    }

    /// Each whole SKILL.md text gives its expected description.
    fn documents(cases: &[(&str, Option<&str>)]) {
        for (md, want) in cases {
            assert_eq!(parse_description(md).as_deref(), *want, "{md:?}");
        }
    }

    #[test]
    fn plain_values() {
        cases(&[
            ("description: Fill PDF forms", Some("Fill PDF forms")),
            ("description: issue#42 stays", Some("issue#42 stays")),
            (
                "description: Use when:a PDF # a comment",
                Some("Use when:a PDF"),
            ),
            (
                "description:\n  Fill forms\n  and merge PDFs\nmodel: opus",
                Some("Fill forms and merge PDFs"),
            ),
            // YAML 1.2 core: yes/no/on/off are strings.
            ("description: yes", Some("yes")),
        ]);
    }

    /// Changed with the YAML parser: `: ` inside a plain scalar is a mapping indicator,
    /// so `description: Use when: a PDF` is not valid YAML (the hand-written subset
    /// returned "Use when: a PDF"); quoted, it is read.
    #[test]
    fn colon_space_in_a_plain_value_needs_quotes() {
        cases(&[
            ("description: Use when: a PDF # a comment", None),
            (
                "description: \"Use when: a PDF\" # a comment",
                Some("Use when: a PDF"),
            ),
        ]);
    }

    #[test]
    fn quoted_values_and_escapes() {
        cases(&[
            (
                r#"description: "Say \"hi\": a\tb \u00e9 # kept""#,
                Some("Say \"hi\": a\tb é # kept"),
            ),
            (
                r#"description: "\x41\U0001F980 \\ \/ \0end\nnext""#,
                Some("A🦀 \\ / \0end\nnext"),
            ),
            // An escaped line break joins the lines without a space.
            (
                "description: \"joined\\\n  together\"",
                Some("joinedtogether"),
            ),
            (
                "description: 'It''s: quoted \\n # raw'",
                Some("It's: quoted \\n # raw"),
            ),
            // Quoted values spanning lines fold.
            (
                "description: \"first\n  second\n\n  third\"",
                Some("first second\nthird"),
            ),
            ("description: 'a\n  b'", Some("a b")),
            // Unterminated or badly escaped: not YAML.
            ("description: \"never closed", None),
            (r#"description: "bad \q escape""#, None),
            ("description: 'never closed", None),
        ]);
    }

    #[test]
    fn literal_and_folded_blocks() {
        cases(&[
            (
                "description: |\n  line one\n    indented\n  line two\nx: 1",
                Some("line one\n  indented\nline two"),
            ),
            (
                "description: >-\n  folded\n  text\n\n  para\n",
                Some("folded text\npara"),
            ),
            // `|2`: the content is indented two columns, whatever the first line does
            // (the subset took the first line's indent and cut "second line").
            (
                "description: |2\n     code first\n  second line\nx: 1",
                Some("code first\nsecond line"),
            ),
            (
                "description: >2-\n   one\n  two\n  three",
                Some("one\ntwo three"),
            ),
            // In a folded block, more-indented lines keep their breaks and indent.
            (
                "description: >\n  Folded\n  text:\n    code()\n    more()\n  back to text\n",
                Some("Folded text:\n  code()\n  more()\nback to text"),
            ),
        ]);
    }

    #[test]
    fn chomping_indicators() {
        for indicator in ["|", "|-", "|+", ">", ">-", ">+"] {
            let got = desc_of(&format!("description: {indicator}\n  a\n\n  b\n\n\nx: 1"));
            let want = if indicator.starts_with('|') {
                "a\n\nb"
            } else {
                "a\nb"
            };
            assert_eq!(got.as_deref(), Some(want), "{indicator}");
        }
    }

    #[test]
    fn anchors_flow_style_explicit_keys_and_tags() {
        cases(&[
            (
                "summary: &d Shared text\ndescription: *d",
                Some("Shared text"),
            ),
            ("description: &d Anchored", Some("Anchored")),
            ("? description\n: Explicit", Some("Explicit")),
            // `!!str` makes any scalar text.
            ("description: !!str 42", Some("42")),
            ("description: !!str true", Some("true")),
            ("description: !!str Tagged", Some("Tagged")),
        ]);
        documents(&[
            (
                "---\n{name: x, description: Flow style}\n---\n",
                Some("Flow style"),
            ),
            (
                "---\n{ \"name\": \"x\", \"description\": \"JSON, too\" }\n---\n",
                Some("JSON, too"),
            ),
        ]);
    }

    /// Only a string node is a description: null, bool, numbers, sequences and mappings
    /// give `None`; quoted, the same spellings are strings.
    #[test]
    fn non_string_values_are_none() {
        for value in [
            "~",
            "null",
            "true",
            "False",
            "42",
            "-1.5",
            "0x1F",
            ".nan",
            ".inf",
            "[a, b]",
            "{a: b}",
            "\n  - a\n  - b",
            "\n  text: nested",
        ] {
            assert_eq!(desc_of(&format!("description: {value}")), None, "{value}");
        }
        for value in ["\"~\"", "'42'", "\"true\""] {
            let want = value.trim_matches(['"', '\'']);
            assert_eq!(
                desc_of(&format!("description: {value}")).as_deref(),
                Some(want)
            );
        }
    }

    #[test]
    fn comments_are_not_content() {
        cases(&[
            (
                "# a comment\ndescription: Text # trailing\n# after\n  # indented",
                Some("Text"),
            ),
            (
                "description: |  # about the block\n  # not a comment\n  line",
                Some("# not a comment\nline"),
            ),
        ]);
    }

    #[test]
    fn crlf_bom_and_closing_dots() {
        documents(&[
            (
                "\u{feff}---\r\ndescription: Windows\r\n---\r\nbody\r\n",
                Some("Windows"),
            ),
            (
                "\u{feff}---\r\nname: x\r\ndescription: |\r\n  one\r\n  two\r\n---\r\n",
                Some("one\ntwo"),
            ),
            (
                "---\r\ndescription: >\r\n  folded\r\n  text\r\n...\r\n",
                Some("folded text"),
            ),
            ("---\ndescription: dotted\n...\nbody", Some("dotted")),
        ]);
    }

    #[test]
    fn nested_or_prefixed_keys_are_ignored() {
        cases(&[
            ("metadata:\n  description: nested\ndescriptions: no", None),
            ("\"description\": quoted key", Some("quoted key")),
            ("description : spaced key", Some("spaced key")),
        ]);
    }

    /// Changed with the YAML parser: YAML keys are unique, so a repeated `description`
    /// makes the frontmatter invalid (the subset took the first).
    #[test]
    fn invalid_yaml_is_none() {
        cases(&[
            ("description: one\ndescription: two", None),
            ("description: ok\n\tmodel: tab-indented", None),
            ("description: ok\n  bad: indent", None),
            ("description: [unclosed", None),
            ("description: *undefined", None),
        ]);
        documents(&[
            ("---\n- a list\n- not a mapping\n---\n", None),
            ("---\njust a scalar\n---\n", None),
            ("---\n\n---\n", None),
        ]);
    }

    #[test]
    fn missing_or_empty_is_none() {
        documents(&[
            ("", None),
            ("# Title\ndescription: body only", None),
            ("---\ndescription: unclosed\n", None),
        ]);
        cases(&[
            ("description:", None),
            ("description: \"\"", None),
            ("description: \"  \"", None),
            ("model: opus", None),
        ]);
    }

    /// An alias bomb: `levels` mappings of ten aliases to the previous one.
    fn alias_bomb(levels: u8) -> String {
        let mut yaml = String::from("---\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, next) in ('a'..).zip('b'..).take(usize::from(levels)) {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            yaml.push_str(&format!("{next}: &{next} [{refs}]\n"));
        }
        yaml + "description: ok\n---\n"
    }

    /// Hostile frontmatter: the budget stops alias bombs, deep nesting and long input
    /// with `None`; the same shapes, small, are read (so `None` is the budget's doing).
    #[test]
    fn hostile_yaml_is_refused_by_the_budget() {
        assert_eq!(parse_description(&alias_bomb(1)).as_deref(), Some("ok"));
        assert_eq!(parse_description(&alias_bomb(8)), None);

        let flow = |n: usize| {
            format!(
                "---\nx: {}{}\ndescription: ok\n---\n",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert_eq!(parse_description(&flow(10)).as_deref(), Some("ok"));
        assert_eq!(parse_description(&flow(5_000)), None);

        let block = |n: usize| {
            let nested: String = (0..n).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
            format!("---\n{nested}description: ok\n---\n")
        };
        assert_eq!(parse_description(&block(10)).as_deref(), Some("ok"));
        assert_eq!(parse_description(&block(200)), None);

        let long = |n: usize| format!("---\ndescription: {}\n---\n", "a".repeat(n));
        assert_eq!(
            parse_description(&long(1_000)).map(|d| d.len()),
            Some(1_000)
        );
        assert_eq!(parse_description(&long(MAX_FRONTMATTER_BYTES)), None);
    }

    #[test]
    fn read_from_disk() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let dir = dir.path();
        std::fs::write(
            dir.join(SKILL_FILE),
            "---\ndescription: 'On disk'\n---\n".to_owned() + &"x".repeat(100_000),
        )?;
        assert_eq!(read_description(dir).as_deref(), Some("On disk"));
        // The body is not read: after the closing line, anything goes.
        std::fs::write(
            dir.join(SKILL_FILE),
            "---\ndescription: |2\n    code\n  text\n---\n: not yaml [\n",
        )?;
        assert_eq!(read_description(dir).as_deref(), Some("code\ntext"));
        std::fs::write(dir.join(SKILL_FILE), "no frontmatter")?;
        assert_eq!(read_description(dir), None);
        std::fs::write(dir.join(SKILL_FILE), [0xff, 0xfe, 0x00])?;
        assert_eq!(read_description(dir), None);
        std::fs::remove_file(dir.join(SKILL_FILE))?;
        assert_eq!(read_description(dir), None);
        assert_eq!(read_description("/definitely/not/here"), None);
        Ok(())
    }
}
