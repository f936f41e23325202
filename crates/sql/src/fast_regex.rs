//! KDA's FAST_REGEX_LOG_PARSE: a log line split by a pattern whose
//! top-level groups are the columns, matched lazily and without
//! backtracking.
//!
//! AWS's page states the rules (the pattern is cut into one expression per
//! group and one per stretch between groups, evaluated in turn, lazily,
//! with no backtracking, and every character of the line must be matched)
//! and four examples, and the examples do not all follow one reading. This
//! reading reproduces three of them: each group takes the fewest
//! characters after which the next part of the pattern can start; each
//! stretch between groups takes as many as it matches; a choice once made
//! is never revisited. So `(.*)_+(.*)` splits `Mary____had_a_little_lamb`
//! into `Mary` and `had_a_little_lamb`, `(.*)_+(<Alpha>.*)` too, and
//! `(.*)_+(._.*)` does not match `Mary_had_a_little_lamb` at all (the first
//! group stops at the first `_`, where the rest then fails), as the page
//! shows. The page's first example (`(.*)_(._.*)_.*` giving `Mary_had` and
//! `a_little_lamb`) matches no reading, Java's greedy one included.
//!
//! The page's named classes (`<Digit>`, `<Alpha>`, ...) are read as the
//! ASCII classes they name; the rest of the pattern is a regular expression
//! as REGEX_LOG_PARSE reads one.

use std::cell::RefCell;
use std::rc::Rc;

use regex_lite::Regex;

/// One part of the pattern: a group (a column) or a stretch between groups.
struct Part {
    column: bool,
    /// The part, anchored at both ends.
    whole: Regex,
    /// The part, anchored at the start only.
    prefix: Regex,
}

/// A pattern cut into its parts.
pub struct FastRegex {
    parts: Vec<Part>,
    columns: usize,
}

/// The page's named classes, as the ASCII classes they are.
const NAMED: &[(&str, &str)] = &[
    ("Digit", "[0-9]"),
    ("Upper", "[A-Z]"),
    ("Lower", "[a-z]"),
    ("ASCII", "[\\x00-\\x7F]"),
    ("Alpha", "[A-Za-z]"),
    ("Alnum", "[A-Za-z0-9]"),
    ("Punct", "[[:punct:]]"),
    ("Blank", "[ \\t]"),
    ("Space", "[ \\t\\n\\x0B\\f\\r]"),
    ("Cntrl", "[\\x00-\\x1F\\x7F]"),
    ("XDigit", "[0-9a-fA-F]"),
    ("Print", "[\\x20-\\x7E]"),
    ("Graph", "[\\x21-\\x7E]"),
];

impl FastRegex {
    /// Cuts `pattern` into its parts; a pattern that is not a regular
    /// expression, or has unbalanced parentheses, is an error.
    pub fn new(pattern: &str) -> Result<FastRegex, String> {
        let pattern = named_classes(pattern);
        let mut texts: Vec<(bool, String)> = Vec::new();
        let mut current = String::new();
        let mut depth = 0usize;
        let mut in_class = false;
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    current.push(c);
                    if let Some(n) = chars.next() {
                        current.push(n);
                    }
                    continue;
                }
                '[' if !in_class => in_class = true,
                ']' if in_class => in_class = false,
                '(' if !in_class => {
                    depth += 1;
                    if depth == 1 && chars.peek() != Some(&'?') {
                        // A top-level group: a column.
                        if !current.is_empty() {
                            texts.push((false, std::mem::take(&mut current)));
                        }
                        texts.push((true, String::new()));
                        continue;
                    }
                }
                ')' if !in_class => {
                    if depth == 0 {
                        return Err("unbalanced parenthesis: a ) without its (".into());
                    }
                    depth -= 1;
                    if depth == 0 && texts.last().is_some_and(|(g, t)| *g && t.is_empty()) {
                        // The end of a column group.
                        texts.last_mut().expect("checked").1 = std::mem::take(&mut current);
                        texts.last_mut().expect("checked").1.push('\u{0}');
                        continue;
                    }
                }
                _ => {}
            }
            current.push(c);
        }
        if depth != 0 {
            return Err("unbalanced parenthesis: a ( without its )".into());
        }
        if !current.is_empty() {
            texts.push((false, current));
        }
        let mut parts = Vec::new();
        for (column, text) in texts {
            // A closed group carries a marker (so that an empty group is
            // told from an open one).
            let text = text.strip_suffix('\u{0}').unwrap_or(&text).to_string();
            let compile = |anchored: &str| Regex::new(anchored).map_err(|e| e.to_string());
            parts.push(Part {
                column,
                whole: compile(&format!("^(?:{text})$"))?,
                prefix: compile(&format!("^(?:{text})"))?,
            });
        }
        let columns = parts.iter().filter(|p| p.column).count();
        Ok(FastRegex { parts, columns })
    }

    /// How many columns a match gives (the top-level groups).
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The columns of `line`, or None when the line does not match.
    pub fn parse<'a>(&self, line: &'a str) -> Option<Vec<&'a str>> {
        let mut pos = 0;
        let mut out = Vec::with_capacity(self.columns);
        for (i, part) in self.parts.iter().enumerate() {
            let rest = &line[pos..];
            if !part.column {
                // A stretch between groups: as much as it matches.
                let m = part.prefix.find(rest)?;
                pos += m.end();
                continue;
            }
            let next = self.parts.get(i + 1);
            // A group: the fewest characters after which the next part can
            // start (the last part: every character left).
            let end = match next {
                None => part.whole.is_match(rest).then_some(rest.len()),
                Some(next) => rest
                    .char_indices()
                    .map(|(at, _)| at)
                    .chain([rest.len()])
                    .find(|&at| {
                        next.prefix.is_match(&rest[at..]) && part.whole.is_match(&rest[..at])
                    }),
            }?;
            out.push(&rest[..end]);
            pos += end;
        }
        (pos == line.len()).then_some(out)
    }
}

/// The pattern with the page's `<Name>` classes written as classes.
fn named_classes(pattern: &str) -> String {
    let mut out = pattern.to_string();
    for (name, class) in NAMED {
        out = out.replace(&format!("<{name}>"), class);
    }
    out
}

thread_local! {
    /// The last pattern compiled: a query applies one pattern to every row.
    static LAST: RefCell<Option<(String, Rc<FastRegex>)>> = const { RefCell::new(None) };
}

/// The compiled `pattern`, from the one-entry cache when it was the last.
pub fn compiled(pattern: &str) -> Result<Rc<FastRegex>, String> {
    if let Some(hit) = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|(p, _)| p == pattern)
            .map(|(_, r)| r.clone())
    }) {
        return Ok(hit);
    }
    let fresh = Rc::new(FastRegex::new(pattern)?);
    LAST.with(|l| *l.borrow_mut() = Some((pattern.to_string(), fresh.clone())));
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, pattern: &str) -> Option<Vec<String>> {
        FastRegex::new(pattern)
            .unwrap()
            .parse(line)
            .map(|c| c.into_iter().map(str::to_string).collect())
    }

    #[test]
    fn the_pages_examples_a_b_and_c() {
        // A: the first group stops at the first `_`; the second then
        // fails, and nothing goes back.
        assert_eq!(parse("Mary_had_a_little_lamb", "(.*)_+(._.*)"), None);
        // B: the `+` takes every underscore between the groups.
        assert_eq!(
            parse("Mary____had_a_little_lamb", "(.*)_+(.*)"),
            Some(vec!["Mary".into(), "had_a_little_lamb".into()])
        );
        // C: a named class.
        assert_eq!(
            parse("Mary____had_a_little_lamb", "(.*)_+(<Alpha>.*)"),
            Some(vec!["Mary".into(), "had_a_little_lamb".into()])
        );
    }

    #[test]
    fn every_character_must_be_matched() {
        assert_eq!(parse("GET /a 200 extra", "(\\S+) (\\S+) ([0-9]+)"), None);
        assert_eq!(
            parse("GET /a 200", "(\\S+) (\\S+) ([0-9]+)"),
            Some(vec!["GET".into(), "/a".into(), "200".into()])
        );
        // Text outside the groups must be there and is not a column.
        assert_eq!(
            parse("[12:00] up", "\\[(.*)\\] (.*)"),
            Some(vec!["12:00".into(), "up".into()])
        );
        assert_eq!(parse("12:00 up", "\\[(.*)\\] (.*)"), None);
    }

    #[test]
    fn groups_are_lazy_and_do_not_backtrack() {
        // The first group ends at the first space; Java's greedy (.*)
        // would take "a b".
        assert_eq!(
            parse("a b c", "(.*) (.*)"),
            Some(vec!["a".into(), "b c".into()])
        );
        // Nested and non-capturing groups belong to their column.
        assert_eq!(
            parse("ab-12", "((a|b)+)-(?:x)?([0-9]+)"),
            Some(vec!["ab".into(), "12".into()])
        );
        assert_eq!(FastRegex::new("((a|b)+)-([0-9]+)").unwrap().columns(), 2);
        // Adjacent groups: the first takes as little as lets the second start.
        assert_eq!(
            parse("abc123", "([a-z]+)([0-9]+)"),
            Some(vec!["abc".into(), "123".into()])
        );
        assert_eq!(
            parse("é_ü", "(.*)_(.*)"),
            Some(vec!["é".into(), "ü".into()])
        );
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(FastRegex::new("(a").is_err());
        assert!(FastRegex::new("a)").is_err());
        assert!(FastRegex::new("(a[)").is_err());
        assert_eq!(FastRegex::new("[(]x(y)").unwrap().columns(), 1);
    }
}
