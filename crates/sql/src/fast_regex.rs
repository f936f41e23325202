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
use rustc_hash::FxHashMap as HashMap;

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

/// The page's named classes: what goes between a class's brackets.
const NAMED: &[(&str, &str)] = &[
    ("Digit", "0-9"),
    ("Upper", "A-Z"),
    ("Lower", "a-z"),
    ("ASCII", "\\x00-\\x7F"),
    ("Alpha", "A-Za-z"),
    ("Alnum", "A-Za-z0-9"),
    ("Punct", "[:punct:]"),
    ("Blank", " \\t"),
    ("Space", " \\t\\n\\x0B\\f\\r"),
    ("Cntrl", "\\x00-\\x1F\\x7F"),
    ("XDigit", "0-9a-fA-F"),
    ("Print", "\\x20-\\x7E"),
    ("Graph", "\\x21-\\x7E"),
];

/// The most bytes the matcher may examine for one line, in all (its
/// backtracking-free steps can still rescan a long line at many places).
const WORK_BUDGET: usize = 64 * 1024 * 1024;

impl FastRegex {
    /// Cuts `pattern` into its parts; a pattern that is not a regular
    /// expression, or has unbalanced parentheses, is an error.
    pub fn new(pattern: &str) -> Result<FastRegex, String> {
        // (is a column, its text); a column's text is None while open.
        let mut texts: Vec<(bool, Option<String>)> = Vec::new();
        let mut current = String::new();
        // Inline flags `(?i)` at the top level: they apply to every part
        // after them.
        let mut flags = String::new();
        let mut flags_of: Vec<String> = Vec::new();
        let mut depth = 0usize;
        let mut in_class = false;
        // A byte offset into `pattern`; what follows the character there.
        let mut i = 0;
        while let Some(c) = pattern[i..].chars().next() {
            let ahead = &pattern[i + c.len_utf8()..];
            match c {
                '\\' => {
                    current.push(c);
                    let escaped = ahead.chars().next();
                    current.extend(escaped);
                    i += 1 + escaped.map_or(0, char::len_utf8);
                    continue;
                }
                '<' => {
                    if let Some((name, inner)) = NAMED
                        .iter()
                        .find(|(name, _)| ahead.starts_with(&format!("{name}>")))
                    {
                        if in_class {
                            current.push_str(inner);
                        } else {
                            current.push_str(&format!("[{inner}]"));
                        }
                        i += name.len() + 2;
                        continue;
                    }
                }
                '[' if !in_class => in_class = true,
                ']' if in_class => in_class = false,
                '(' if !in_class && depth == 0 => {
                    // `(?flags)`: flags for the rest of the pattern.
                    if let Some(f) = ahead
                        .strip_prefix('?')
                        .and_then(|a| a.split_once(')'))
                        .map(|(f, _)| f)
                        .filter(|f| {
                            !f.is_empty() && f.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
                        })
                    {
                        end_text(&mut texts, &mut flags_of, &mut current, &flags);
                        flags.push_str(&format!("(?{f})"));
                        i += f.len() + 3;
                        continue;
                    }
                    // A capturing group (plain or named) is a column.
                    let named = ["?<", "?P<"]
                        .iter()
                        .find(|p| {
                            ahead.starts_with(**p)
                                && !ahead.starts_with("?<=")
                                && !ahead.starts_with("?<!")
                        })
                        .and_then(|p| ahead[p.len()..].find('>').map(|end| p.len() + end + 1));
                    if named.is_some() || !ahead.starts_with('?') {
                        end_text(&mut texts, &mut flags_of, &mut current, &flags);
                        texts.push((true, None));
                        flags_of.push(flags.clone());
                        depth = 1;
                        i += 1 + named.unwrap_or(0);
                        continue;
                    }
                    depth = 1;
                }
                '(' if !in_class => depth += 1,
                ')' if !in_class => {
                    if depth == 0 {
                        return Err("unbalanced parenthesis: a ) without its (".into());
                    }
                    depth -= 1;
                    if depth == 0 && matches!(texts.last(), Some((true, None))) {
                        // The end of a column.
                        texts.last_mut().expect("checked").1 = Some(std::mem::take(&mut current));
                        if let Some(q) = ahead
                            .chars()
                            .next()
                            .filter(|q| matches!(q, '?' | '*' | '+' | '{'))
                        {
                            return Err(format!(
                                "a group is a column and takes no quantifier after it (`{q}` after the group ending at character {}): put the quantifier inside the group",
                                i + 1
                            ));
                        }
                        i += 1;
                        continue;
                    }
                }
                _ => {}
            }
            current.push(c);
            i += c.len_utf8();
        }
        if depth != 0 || matches!(texts.last(), Some((true, None))) {
            return Err("unbalanced parenthesis: a ( without its )".into());
        }
        end_text(&mut texts, &mut flags_of, &mut current, &flags);
        let mut parts = Vec::new();
        for ((column, text), flags) in texts.into_iter().zip(flags_of) {
            let text = text.unwrap_or_default();
            let compile = |anchored: &str| Regex::new(anchored).map_err(|e| e.to_string());
            parts.push(Part {
                column,
                whole: compile(&format!("{flags}^(?:{text})$"))?,
                prefix: compile(&format!("{flags}^(?:{text})"))?,
            });
        }
        let columns = parts.iter().filter(|p| p.column).count();
        Ok(FastRegex { parts, columns })
    }

    /// How many columns a match gives (the top-level groups).
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// The columns of `line`, or None when the line does not match; an
    /// error when matching it would examine more than `WORK_BUDGET` bytes.
    pub fn parse<'a>(&self, line: &'a str) -> Result<Option<Vec<&'a str>>, String> {
        let mut pos = 0;
        let mut out = Vec::with_capacity(self.columns);
        let mut work = 0usize;
        let mut spend = |bytes: usize| {
            work += bytes;
            if work > WORK_BUDGET {
                Err(format!(
                    "the pattern would examine more than {} MiB of this {}-byte line; simplify the pattern",
                    WORK_BUDGET >> 20,
                    line.len()
                ))
            } else {
                Ok(())
            }
        };
        for (i, part) in self.parts.iter().enumerate() {
            let rest = &line[pos..];
            if !part.column {
                // A stretch between groups: as much as it matches.
                spend(rest.len())?;
                let Some(m) = part.prefix.find(rest) else {
                    return Ok(None);
                };
                pos += m.end();
                continue;
            }
            // A group: the fewest characters after which the next part can
            // start (the last part: every character left).
            let end = match self.parts.get(i + 1) {
                None => {
                    spend(rest.len())?;
                    part.whole.is_match(rest).then_some(rest.len())
                }
                Some(next) => {
                    let mut found = None;
                    for at in rest.char_indices().map(|(at, _)| at).chain([rest.len()]) {
                        spend(rest.len() - at)?;
                        if !next.prefix.is_match(&rest[at..]) {
                            continue;
                        }
                        spend(at)?;
                        if part.whole.is_match(&rest[..at]) {
                            found = Some(at);
                            break;
                        }
                    }
                    found
                }
            };
            let Some(end) = end else {
                return Ok(None);
            };
            out.push(&rest[..end]);
            pos += end;
        }
        Ok((pos == line.len()).then_some(out))
    }
}

/// Ends the text between groups gathered so far (if any) as a part, under
/// the flags in force.
fn end_text(
    texts: &mut Vec<(bool, Option<String>)>,
    flags_of: &mut Vec<String>,
    current: &mut String,
    flags: &str,
) {
    if !current.is_empty() {
        texts.push((false, Some(std::mem::take(current))));
        flags_of.push(flags.to_string());
    }
}

/// Patterns compiled lately: an application applies a few patterns to
/// every row.
const CACHED_PATTERNS: usize = 32;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Rc<FastRegex>>> = RefCell::new(HashMap::default());
}

/// The compiled `pattern`, cached.
pub fn compiled(pattern: &str) -> Result<Rc<FastRegex>, String> {
    if let Some(hit) = COMPILED.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(hit);
    }
    let fresh = Rc::new(FastRegex::new(pattern)?);
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHED_PATTERNS {
            c.clear();
        }
        c.insert(pattern.to_string(), fresh.clone());
    });
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, pattern: &str) -> Option<Vec<String>> {
        FastRegex::new(pattern)
            .unwrap()
            .parse(line)
            .unwrap()
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
        let e = FastRegex::new("(a)?b").err().unwrap();
        assert!(
            e.contains("takes no quantifier after it (`?` after the group ending at character 3)"),
            "{e}"
        );
    }

    #[test]
    fn named_classes_named_groups_and_flags() {
        // A named class inside a class.
        assert_eq!(
            parse("a1_b2 rest", "([<Alpha><Digit>_]+) (.*)"),
            Some(vec!["a1_b2".into(), "rest".into()])
        );
        assert_eq!(
            parse("x.y!", "(<Alpha>)<Punct>(<Alpha>)[<Punct>]"),
            Some(vec!["x".into(), "y".into()])
        );
        // Named groups are columns.
        assert_eq!(
            parse("GET 200", "(?<verb>[A-Z]+) (?P<status><Digit>+)"),
            Some(vec!["GET".into(), "200".into()])
        );
        // Inline flags hold for the rest of the pattern.
        assert_eq!(
            parse("get=OK", "(?i)(GET)=(ok)"),
            Some(vec!["get".into(), "OK".into()])
        );
    }

    #[test]
    fn a_costly_line_is_an_error_not_a_freeze() {
        // The first group must end in a digit; each space is a place the
        // next part could start, and each is checked against the whole
        // line so far.
        let line = "a ".repeat(20_000);
        let e = FastRegex::new("(.*[0-9]) (.*)")
            .unwrap()
            .parse(&line)
            .unwrap_err();
        assert!(
            e.contains("more than 64 MiB of this 40000-byte line"),
            "{e}"
        );
        let mut cache_hits = 0;
        for p in ["(a)", "(b)", "(a)"] {
            let a = compiled(p).unwrap();
            let b = compiled(p).unwrap();
            cache_hits += usize::from(Rc::ptr_eq(&a, &b));
        }
        assert_eq!(cache_hits, 3);
    }
}
