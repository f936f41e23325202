//! faker.js's `helpers` and `image` namespaces, as the Kinesis Data
//! Generator bundles them (faker.js 4): symbol replacement, picking and
//! shuffling, the ready-made JSON "cards" (a user, a contextual user, a
//! full card with posts and account history, a transaction), and image
//! URLs.
//!
//! A card is printed as JSON (faker.js would print `[object Object]`, which
//! no one wants in a record), its fields in faker.js's order, each value
//! made by the same functions a template calls, from the producer's seeded
//! generator. Dates in cards are on the virtual clock: a transaction's is
//! the record's arrival, a date of birth up to 50 years before it.

use serde_json::Value;

use super::faker::{self, count_arg, js_string, replace_symbols, string_arg, Gen, Render};

/// faker.js's image categories (lorempixel's), each also a method.
pub const IMAGE_CATEGORIES: &[&str] = faker::IMAGE_METHODS.split_at(4).1;

/// The largest width or height an image function takes.
const MAX_SIDE: usize = 100_000;

/// A part of a card: text (quoted and escaped as JSON), or an object or
/// list of parts.
enum Part {
    Text(Render, usize),
    Object(Vec<(&'static str, Part)>),
    List(Vec<Part>),
}

impl Part {
    fn call(ns: &str, method: &str, args: &[Value]) -> Result<Part, String> {
        let (render, bound) = faker::compile(ns, method, args)?;
        Ok(Part::Text(render, bound))
    }

    fn text(render: Render, bound: usize) -> Part {
        Part::Text(render, bound)
    }

    /// The most bytes the part writes: JSON escapes a character in at most
    /// six bytes (`\u001f`).
    fn bound(&self) -> usize {
        match self {
            Part::Text(_, b) => 6 * b + 2,
            Part::Object(fields) => {
                2 + fields
                    .iter()
                    .map(|(k, p)| k.len() + 4 + p.bound())
                    .sum::<usize>()
            }
            Part::List(items) => 2 + items.iter().map(|p| p.bound() + 1).sum::<usize>(),
        }
    }

    fn write(&self, g: &mut Gen<'_>, out: &mut String) {
        match self {
            Part::Text(render, _) => {
                let mut text = String::new();
                render(g, &mut text);
                // A JSON string of text always encodes.
                out.push_str(&serde_json::to_string(&text).unwrap_or_default());
            }
            Part::Object(fields) => {
                out.push('{');
                for (i, (key, part)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    part.write(g, out);
                }
                out.push('}');
            }
            Part::List(items) => {
                out.push('[');
                for (i, part) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    part.write(g, out);
                }
                out.push(']');
            }
        }
    }
}

/// `{lat, lng}` as faker.js's cards have them (strings, four decimals).
fn geo() -> Result<Part, String> {
    Ok(Part::Object(vec![
        ("lat", Part::call("address", "latitude", &[])?),
        ("lng", Part::call("address", "longitude", &[])?),
    ]))
}

fn company() -> Result<Part, String> {
    Ok(Part::Object(vec![
        ("name", Part::call("company", "companyName", &[])?),
        ("catchPhrase", Part::call("company", "catchPhrase", &[])?),
        ("bs", Part::call("company", "bs", &[])?),
    ]))
}

/// `helpers.createTransaction`: faker.js's fields; its date is the
/// record's arrival on the virtual clock (faker.js's is a fixed day in
/// 2012).
fn transaction() -> Result<Part, String> {
    let (account_name, name_bound) = faker::compile("finance", "accountName", &[])?;
    let name: Render = Box::new(move |g, out| {
        account_name(g, out);
        out.push(' ');
        replace_number_symbols(g, "(...####)", '#', out);
    });
    Ok(Part::Object(vec![
        ("amount", Part::call("finance", "amount", &[])?),
        (
            "date",
            Part::text(
                Box::new(|g, out| out.push_str(&shardlab_engine::time::iso8601(g.now_ms))),
                24,
            ),
        ),
        ("business", Part::call("company", "companyName", &[])?),
        ("name", Part::text(name, name_bound + 10)),
        ("type", Part::call("finance", "transactionType", &[])?),
        ("account", Part::call("finance", "account", &[])?),
    ]))
}

/// A date of birth: up to 50 years before the record, as ISO 8601 (what
/// `JSON.stringify` makes of a `Date`).
fn date_of_birth() -> Part {
    const FIFTY_YEARS_MS: u64 = 50 * 365 * 86_400_000;
    Part::text(
        Box::new(|g, out| {
            let back = (g.unit() * FIFTY_YEARS_MS as f64) as u64;
            out.push_str(&shardlab_engine::time::iso8601(
                g.now_ms.saturating_sub(back),
            ));
        }),
        24,
    )
}

fn card(method: &str) -> Result<Part, String> {
    let address_basics = || -> Result<Vec<(&'static str, Part)>, String> {
        Ok(vec![
            ("street", Part::call("address", "streetName", &[])?),
            ("suite", Part::call("address", "secondaryAddress", &[])?),
            ("city", Part::call("address", "city", &[])?),
            ("zipcode", Part::call("address", "zipCode", &[])?),
            ("geo", geo()?),
        ])
    };
    Ok(match method {
        "userCard" => Part::Object(vec![
            ("name", Part::call("name", "findName", &[])?),
            ("username", Part::call("internet", "userName", &[])?),
            ("email", Part::call("internet", "email", &[])?),
            ("address", Part::Object(address_basics()?)),
            ("phone", Part::call("phone", "phoneNumber", &[])?),
            ("website", Part::call("internet", "domainName", &[])?),
            ("company", company()?),
        ]),
        "contextualCard" => Part::Object(vec![
            ("name", Part::call("name", "firstName", &[])?),
            ("username", Part::call("internet", "userName", &[])?),
            ("avatar", Part::call("image", "avatar", &[])?),
            ("email", Part::call("internet", "email", &[])?),
            ("dob", date_of_birth()),
            ("phone", Part::call("phone", "phoneNumber", &[])?),
            ("address", Part::Object(address_basics()?)),
            ("website", Part::call("internet", "domainName", &[])?),
            ("company", company()?),
        ]),
        "createCard" => {
            let post = || -> Result<Part, String> {
                Ok(Part::Object(vec![
                    ("words", Part::call("lorem", "words", &[])?),
                    ("sentence", Part::call("lorem", "sentence", &[])?),
                    ("sentences", Part::call("lorem", "sentences", &[])?),
                    ("paragraph", Part::call("lorem", "paragraph", &[])?),
                ]))
            };
            Part::Object(vec![
                ("name", Part::call("name", "findName", &[])?),
                ("username", Part::call("internet", "userName", &[])?),
                ("email", Part::call("internet", "email", &[])?),
                (
                    "address",
                    Part::Object(vec![
                        ("streetA", Part::call("address", "streetName", &[])?),
                        ("streetB", Part::call("address", "streetAddress", &[])?),
                        (
                            "streetC",
                            Part::call("address", "streetAddress", &[Value::Bool(true)])?,
                        ),
                        ("streetD", Part::call("address", "secondaryAddress", &[])?),
                        ("city", Part::call("address", "city", &[])?),
                        ("state", Part::call("address", "state", &[])?),
                        ("country", Part::call("address", "country", &[])?),
                        ("zipcode", Part::call("address", "zipCode", &[])?),
                        ("geo", geo()?),
                    ]),
                ),
                ("phone", Part::call("phone", "phoneNumber", &[])?),
                ("website", Part::call("internet", "domainName", &[])?),
                ("company", company()?),
                ("posts", Part::List(vec![post()?, post()?, post()?])),
                (
                    "accountHistory",
                    Part::List(vec![transaction()?, transaction()?, transaction()?]),
                ),
            ])
        }
        _ => transaction()?,
    })
}

/// faker.js's `helpers.replaceSymbolWithNumber`: each `symbol` a digit,
/// each `!` a digit from 2 to 9.
fn replace_number_symbols(g: &mut Gen<'_>, format: &str, symbol: char, out: &mut String) {
    for c in format.chars() {
        if c == symbol {
            out.push(char::from(b'0' + g.below(10) as u8));
        } else if c == '!' {
            out.push(char::from(b'2' + g.below(8) as u8));
        } else {
            out.push(c);
        }
    }
}

/// The list argument of `randomize` and `shuffle` (faker.js's default is
/// `["a", "b", "c"]`).
fn list_arg(ns: &str, method: &str, arg: Option<&Value>) -> Result<Vec<String>, String> {
    match arg {
        None => Ok(vec!["a".into(), "b".into(), "c".into()]),
        Some(Value::Array(a)) if !a.is_empty() => Ok(a.iter().map(js_string).collect()),
        Some(other) => Err(format!(
            "{ns}.{method} takes a list with at least one element, e.g. [\"OK\",\"FAIL\"]; not {other}"
        )),
    }
}

/// A text argument, empty when left out (as faker.js's are).
fn text_arg(ns: &str, method: &str, arg: Option<&Value>) -> Result<String, String> {
    arg.map(|v| string_arg(ns, method, v))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// A width or height, faker.js's `default` when left out.
fn side_arg(ns: &str, method: &str, arg: Option<&Value>, default: usize) -> Result<usize, String> {
    match arg {
        None => Ok(default),
        Some(v) => count_arg(ns, method, v, 1, MAX_SIDE as u64),
    }
}

/// faker.js's `image.imageUrl(width, height, category, randomize, https)`:
/// `http://lorempixel.com/640/480/cats`, with `?` and a random number when
/// randomized.
fn image_url(
    width: usize,
    height: usize,
    category: Option<String>,
    randomize: bool,
    https: bool,
) -> (Render, usize) {
    let mut url = format!(
        "{}://lorempixel.com/{width}/{height}",
        if https { "https" } else { "http" }
    );
    if let Some(c) = category {
        url.push('/');
        url.push_str(&c);
    }
    let bound = url.len() + 6;
    let render: Render = Box::new(move |g, out| {
        out.push_str(&url);
        if randomize {
            out.push('?');
            out.push_str(&g.below(100_000).to_string());
        }
    });
    (render, bound)
}

fn bool_arg(ns: &str, method: &str, arg: Option<&Value>) -> Result<bool, String> {
    match arg {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!(
            "{ns}.{method} takes true or false here, not {other}"
        )),
    }
}

/// Compiles `helpers.*` and `image.*` (the caller has checked that the
/// method exists).
pub fn compile(ns: &str, method: &str, args: &[Value]) -> Result<(Render, usize), String> {
    let arg = |i: usize| args.get(i).filter(|v| !v.is_null());
    let take = |n: usize| faker::at_most(ns, method, args, n);
    Ok(match (ns, method) {
        ("helpers", "replaceSymbols") => {
            take(1)?;
            let format = text_arg(ns, method, arg(0))?;
            let bound = format.len();
            (
                Box::new(move |g, out| replace_symbols(g, &format, out)),
                bound,
            )
        }
        ("helpers", "replaceSymbolWithNumber") => {
            take(2)?;
            let format = text_arg(ns, method, arg(0))?;
            let symbol = match arg(1) {
                None => '#',
                Some(v) => {
                    let s = string_arg(ns, method, v)?;
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => c,
                        _ => {
                            return Err(format!(
                                "{ns}.{method}'s symbol is one character, such as \"#\"; not {v}"
                            ))
                        }
                    }
                }
            };
            let bound = format.len();
            (
                Box::new(move |g, out| replace_number_symbols(g, &format, symbol, out)),
                bound,
            )
        }
        ("helpers", "slugify") => {
            take(1)?;
            let text = text_arg(ns, method, arg(0))?;
            // Spaces become dashes; only letters, digits, `_`, `.` and `-` stay.
            let slug: String = text
                .replace(' ', "-")
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                .collect();
            let bound = slug.len();
            (Box::new(move |_, out| out.push_str(&slug)), bound)
        }
        ("helpers", "randomize") => {
            take(1)?;
            let items = list_arg(ns, method, arg(0))?;
            let bound = items.iter().map(String::len).max().unwrap_or(0);
            (
                Box::new(move |g, out| out.push_str(&items[g.below(items.len())])),
                bound,
            )
        }
        ("helpers", "shuffle") => {
            take(1)?;
            let items = list_arg(ns, method, arg(0))?;
            // Printed as JavaScript prints a list: its elements joined by commas.
            let bound = items.iter().map(|s| s.len() + 1).sum();
            (
                Box::new(move |g, out| {
                    let mut order: Vec<usize> = (0..items.len()).collect();
                    for i in (1..order.len()).rev() {
                        order.swap(i, g.below(i + 1));
                    }
                    for (n, i) in order.into_iter().enumerate() {
                        if n > 0 {
                            out.push(',');
                        }
                        out.push_str(&items[i]);
                    }
                }),
                bound,
            )
        }
        ("helpers", _) => {
            take(0)?;
            let part = card(method)?;
            let bound = part.bound();
            (Box::new(move |g, out| part.write(g, out)), bound)
        }
        ("image", "avatar") => {
            take(0)?;
            // faker.js picks one of a list of Twitter handles; a user name here.
            let (name, bound) = faker::compile("internet", "userName", &[])?;
            let render: Render = Box::new(move |g, out| {
                out.push_str("https://s3.amazonaws.com/uifaces/faces/twitter/");
                name(g, out);
                out.push_str("/128.jpg");
            });
            (render, bound + 64)
        }
        ("image", "imageUrl") => {
            take(5)?;
            let width = side_arg(ns, method, arg(0), 640)?;
            let height = side_arg(ns, method, arg(1), 480)?;
            let category = match arg(2) {
                None => None,
                Some(v) => {
                    let c = string_arg(ns, method, v)?;
                    if !c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                        return Err(format!(
                            "{ns}.{method}'s category is a word such as \"cats\", not {v}"
                        ));
                    }
                    Some(c)
                }
            };
            let randomize = bool_arg(ns, method, arg(3))?;
            let https = bool_arg(ns, method, arg(4))?;
            image_url(width, height, category, randomize, https)
        }
        ("image", "image") => {
            take(0)?;
            let urls: Vec<String> = IMAGE_CATEGORIES
                .iter()
                .map(|c| format!("http://lorempixel.com/640/480/{c}"))
                .collect();
            let bound = urls.iter().map(String::len).max().unwrap_or(0);
            (
                Box::new(move |g, out| out.push_str(&urls[g.below(urls.len())])),
                bound,
            )
        }
        ("image", "dataUri") => {
            take(2)?;
            let width = side_arg(ns, method, arg(0), 640)?;
            let height = side_arg(ns, method, arg(1), 480)?;
            // A grey SVG with its size written in the middle, percent-encoded
            // as `encodeURIComponent` does.
            let svg = format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" baseProfile=\"full\" \
                 width=\"{width}\" height=\"{height}\"><rect width=\"100%\" height=\"100%\" \
                 fill=\"grey\"/><text x=\"{}\" y=\"{}\" font-size=\"20\" \
                 alignment-baseline=\"middle\" text-anchor=\"middle\" fill=\"white\">\
                 {width}x{height}</text></svg>",
                faker::js_number(width as f64 / 2.0),
                faker::js_number(height as f64 / 2.0)
            );
            let uri = format!(
                "data:image/svg+xml;charset=UTF-8,{}",
                encode_uri_component(&svg)
            );
            let bound = uri.len();
            (Box::new(move |_, out| out.push_str(&uri)), bound)
        }
        ("image", category) => {
            take(3)?;
            let width = side_arg(ns, method, arg(0), 640)?;
            let height = side_arg(ns, method, arg(1), 480)?;
            let randomize = bool_arg(ns, method, arg(2))?;
            image_url(width, height, Some(category.to_string()), randomize, false)
        }
        _ => return Err(format!("{ns}.{method} is not available yet")),
    })
}

/// JavaScript's `encodeURIComponent` for ASCII text.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
