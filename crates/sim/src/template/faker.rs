//! The functions a record template may call: faker.js's namespaces as the
//! Kinesis Data Generator bundles them (`name.firstName`, `internet.ip`,
//! `random.number`, ...), plus the KDG's own `date.now`, `date.utc`,
//! `date.simTime` and `random.weightedArrayElement`.
//!
//! Words (names, cities, company buzzwords, lorem, user agents, ...) come
//! from the `fake` crate's English data; numbers, choices and dates are
//! drawn as faker.js draws them (`random.number`'s inclusive maximum and
//! `precision`, `address.latitude`'s four decimals), from the producer's
//! seeded generator, and dates from the virtual clock. Each call is checked
//! once, when the template is read: a bad argument is an error then, never
//! a surprise in the thousandth record.

use std::convert::Infallible;

use fake::faker::{
    address::en as address, company::en as company, currency::en as currency,
    filesystem::en as filesystem, finance::en as finance, internet::en as internet, job::en as job,
    lorem::en as lorem, name::en as name, phone_number::en as phone,
};
use fake::Dummy;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use serde_json::Value;

use super::moment::{MomentFormat, DEFAULT_LOCAL, DEFAULT_UTC};
use shardlab_engine::time_pattern::{MONTHS, WEEKDAYS};

/// What a compiled call appends to the record.
pub type Render = Box<dyn Fn(&mut Gen<'_>, &mut String) + Send + Sync>;

/// Everything a call may draw on: the producer's generator and the record's
/// arrival time.
pub struct Gen<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub now_ms: u64,
}

/// The producer's ChaCha stream as the `fake` crate's generator trait
/// (rand 0.10's), so fake data comes from the same seeded sub-stream.
struct FakeRng<'a>(&'a mut ChaCha8Rng);

impl fake::rand::TryRng for FakeRng<'_> {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl Gen<'_> {
    /// A value of one of `fake`'s generators.
    fn fake<F>(&mut self, f: F) -> String
    where
        String: Dummy<F>,
    {
        String::dummy_with_rng(&f, &mut FakeRng(self.rng))
    }

    /// Uniform in [0, 1), from 53 random bits (as `Math.random()` gives).
    pub(super) fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [0, n).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    fn pick<'s>(&mut self, list: &[&'s str]) -> &'s str {
        list[self.below(list.len())]
    }

    /// faker.js's `random.number({min, max, precision})`: max inclusive.
    fn number(&mut self, n: &NumberSpec) -> f64 {
        let max = if n.max >= 0.0 {
            n.max + n.precision
        } else {
            n.max
        };
        let (lo, hi) = (n.min / n.precision, max / n.precision);
        let x = (self.unit() * (hi - lo) + lo).floor();
        x / (1.0 / n.precision)
    }
}

/// `image`'s methods: four, then one per category (see
/// `cards::IMAGE_CATEGORIES`).
pub const IMAGE_METHODS: &[&str] = &[
    "image",
    "avatar",
    "imageUrl",
    "dataUri",
    "abstract",
    "animals",
    "business",
    "cats",
    "city",
    "food",
    "nightlife",
    "fashion",
    "people",
    "nature",
    "sports",
    "technics",
    "transport",
];

/// The namespaces and their methods, for error messages and the README.
pub const METHODS: &[(&str, &[&str])] = &[
    (
        "address",
        &[
            "zipCode",
            "city",
            "cityPrefix",
            "citySuffix",
            "streetName",
            "streetAddress",
            "streetSuffix",
            "secondaryAddress",
            "buildingNumber",
            "country",
            "countryCode",
            "state",
            "stateAbbr",
            "latitude",
            "longitude",
            "timeZone",
        ],
    ),
    (
        "commerce",
        &[
            "color",
            "department",
            "productName",
            "price",
            "productAdjective",
            "productMaterial",
            "product",
        ],
    ),
    (
        "company",
        &[
            "companyName",
            "companySuffix",
            "catchPhrase",
            "catchPhraseAdjective",
            "catchPhraseDescriptor",
            "catchPhraseNoun",
            "bs",
            "bsAdjective",
            "bsBuzz",
            "bsNoun",
        ],
    ),
    (
        "date",
        &[
            "now", "utc", "simTime", "past", "future", "recent", "between", "month", "weekday",
        ],
    ),
    (
        "finance",
        &[
            "account",
            "accountName",
            "amount",
            "transactionType",
            "currencyCode",
            "currencyName",
            "currencySymbol",
            "bic",
        ],
    ),
    (
        "hacker",
        &[
            "abbreviation",
            "adjective",
            "noun",
            "verb",
            "ingverb",
            "phrase",
        ],
    ),
    (
        "helpers",
        &[
            "replaceSymbols",
            "replaceSymbolWithNumber",
            "slugify",
            "randomize",
            "shuffle",
            "userCard",
            "contextualCard",
            "createCard",
            "createTransaction",
        ],
    ),
    ("image", IMAGE_METHODS),
    (
        "internet",
        &[
            "email",
            "exampleEmail",
            "userName",
            "protocol",
            "url",
            "domainName",
            "domainSuffix",
            "domainWord",
            "ip",
            "ipv6",
            "userAgent",
            "color",
            "mac",
            "password",
        ],
    ),
    (
        "lorem",
        &[
            "word",
            "words",
            "sentence",
            "slug",
            "sentences",
            "paragraph",
            "paragraphs",
            "text",
            "lines",
        ],
    ),
    (
        "name",
        &[
            "firstName",
            "lastName",
            "findName",
            "prefix",
            "suffix",
            "title",
            "jobTitle",
            "jobDescriptor",
            "jobArea",
            "jobType",
        ],
    ),
    ("phone", &["phoneNumber"]),
    (
        "random",
        &[
            "number",
            "arrayElement",
            "weightedArrayElement",
            "objectElement",
            "uuid",
            "boolean",
            "word",
            "words",
            "alphaNumeric",
            "locale",
        ],
    ),
    (
        "system",
        &[
            "fileName",
            "fileExt",
            "mimeType",
            "semver",
            "filePath",
            "directoryPath",
        ],
    ),
];

/// `random.number`'s options.
#[derive(Clone, Copy, Debug)]
struct NumberSpec {
    min: f64,
    max: f64,
    precision: f64,
}

/// The most bytes a call without a count or format of its own appends
/// (the longest fake value is a user agent of under 200 bytes; a test
/// renders every function many times against its bound).
const DEFAULT_BOUND: usize = 512;
/// Bytes a lorem word takes at most, with its separator.
const WORD_BOUND: usize = 32;
const SENTENCE_BOUND: usize = 10 * WORD_BOUND + 2;

/// The call `ns.method(args)`, checked and ready to render, and the most
/// bytes it can append (so a template's records are known to fit a
/// Kinesis record before the first is made).
pub fn compile(ns: &str, method: &str, args: &[Value]) -> Result<(Render, usize), String> {
    let Some((_, methods)) = METHODS.iter().find(|(n, _)| *n == ns) else {
        let names: Vec<&str> = METHODS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "there is no namespace \"{ns}\"; the template functions are in {}",
            names.join(", ")
        ));
    };
    if !methods.contains(&method) {
        return Err(format!(
            "{ns} has no method \"{method}\"; it has {}",
            methods.join(", ")
        ));
    }
    let arg = |i: usize| args.get(i).filter(|v| !v.is_null());
    let take = |n: usize| at_most(ns, method, args, n);
    macro_rules! fake {
        ($f:expr) => {{
            take(0)?;
            Box::new(move |g: &mut Gen<'_>, out: &mut String| out.push_str(&g.fake($f)))
        }};
    }
    macro_rules! pick {
        ($list:expr) => {{
            take(0)?;
            Box::new(move |g: &mut Gen<'_>, out: &mut String| out.push_str(g.pick($list)))
        }};
    }
    if matches!(ns, "helpers" | "image") {
        return super::cards::compile(ns, method, args);
    }
    let mut bound = DEFAULT_BOUND;
    let render: Render = match (ns, method) {
        // A format of #s (digits) and ?s (letters), or the locale's.
        ("address", "zipCode") | ("phone", "phoneNumber") => {
            take(1)?;
            match arg(0) {
                Some(f) => {
                    let format = string_arg(ns, method, f)?;
                    bound = format.len();
                    Box::new(move |g, out| replace_symbols(g, &format, out))
                }
                None if ns == "phone" => fake!(phone::PhoneNumber()),
                None => fake!(address::ZipCode()),
            }
        }
        ("address", "city") => fake!(address::CityName()),
        ("address", "cityPrefix") => fake!(address::CityPrefix()),
        ("address", "citySuffix") => fake!(address::CitySuffix()),
        ("address", "streetName") => fake!(address::StreetName()),
        ("address", "streetAddress") => {
            take(1)?;
            let full = arg(0).is_some_and(|v| v.as_bool() == Some(true));
            Box::new(move |g, out| {
                out.push_str(&g.fake(address::BuildingNumber()));
                out.push(' ');
                out.push_str(&g.fake(address::StreetName()));
                if full {
                    out.push(' ');
                    out.push_str(&g.fake(address::SecondaryAddress()));
                }
            })
        }
        ("address", "streetSuffix") => fake!(address::StreetSuffix()),
        ("address", "secondaryAddress") => fake!(address::SecondaryAddress()),
        ("address", "buildingNumber") => fake!(address::BuildingNumber()),
        ("address", "country") => fake!(address::CountryName()),
        ("address", "countryCode") => fake!(address::CountryCode()),
        ("address", "state") => fake!(address::StateName()),
        ("address", "stateAbbr") => fake!(address::StateAbbr()),
        ("address", "timeZone") => fake!(address::TimeZone()),
        ("address", "latitude") | ("address", "longitude") => {
            take(0)?;
            // Four decimals, as faker.js: number(180 * 10000) / 10000 - 90.
            let half = if method == "latitude" { 90.0 } else { 180.0 };
            let spec = NumberSpec {
                min: 0.0,
                max: 2.0 * half * 10_000.0,
                precision: 1.0,
            };
            Box::new(move |g, out| {
                out.push_str(&format!("{:.4}", g.number(&spec) / 10_000.0 - half))
            })
        }
        ("commerce", "color") => pick!(COLORS),
        ("commerce", "department") => pick!(DEPARTMENTS),
        ("commerce", "productAdjective") => pick!(PRODUCT_ADJECTIVES),
        ("commerce", "productMaterial") => pick!(PRODUCT_MATERIALS),
        ("commerce", "product") => pick!(PRODUCTS),
        ("commerce", "productName") => {
            take(0)?;
            Box::new(|g, out| {
                for (i, list) in [PRODUCT_ADJECTIVES, PRODUCT_MATERIALS, PRODUCTS]
                    .iter()
                    .enumerate()
                {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(g.pick(list));
                }
            })
        }
        ("commerce", "price") | ("finance", "amount") => {
            take(4)?;
            let num = |i: usize, default: f64| -> Result<f64, String> {
                match arg(i) {
                    None => Ok(default),
                    Some(v) => number_arg(ns, method, v),
                }
            };
            let (min, max, dec) = (num(0, 0.0)?, num(1, 1000.0)?, num(2, 2.0)?);
            let symbol = match arg(3) {
                None => String::new(),
                Some(v) => string_arg(ns, method, v)?,
            };
            if !(0.0..=20.0).contains(&dec) || dec.fract() != 0.0 {
                return Err(format!(
                    "{ns}.{method}'s decimals run from 0 to 20, not {}",
                    js_number(dec)
                ));
            }
            if min > max {
                return Err(format!(
                    "{ns}.{method}: the minimum {} is above the maximum {}",
                    js_number(min),
                    js_number(max)
                ));
            }
            let spec = NumberSpec {
                min,
                max,
                precision: if ns == "finance" {
                    10f64.powi(-(dec as i32))
                } else {
                    1.0
                },
            };
            let dec = dec as usize;
            bound = symbol.len() + 32 + dec;
            Box::new(move |g, out| {
                let v = g.number(&spec);
                out.push_str(&symbol);
                out.push_str(&format!("{v:.dec$}"));
            })
        }
        ("company", "companyName") => fake!(company::CompanyName()),
        ("company", "companySuffix") => fake!(company::CompanySuffix()),
        ("company", "catchPhrase") => fake!(company::CatchPhrase()),
        ("company", "catchPhraseAdjective") => fake!(company::Buzzword()),
        ("company", "catchPhraseDescriptor") => fake!(company::BuzzwordMiddle()),
        ("company", "catchPhraseNoun") => fake!(company::BuzzwordTail()),
        ("company", "bs") => fake!(company::Bs()),
        ("company", "bsAdjective") => fake!(company::BsAdj()),
        ("company", "bsBuzz") => fake!(company::BsVerb()),
        ("company", "bsNoun") => fake!(company::BsNoun()),
        ("date", "now") | ("date", "utc") | ("date", "simTime") => {
            take(1)?;
            let default = if method == "utc" {
                DEFAULT_UTC
            } else {
                DEFAULT_LOCAL
            };
            let format = match arg(0) {
                None => default.to_string(),
                Some(v) => string_arg(ns, method, v)?,
            };
            // No token writes more than 13 bytes (epoch ms) from a letter.
            bound = 16 + 13 * format.len();
            let format = MomentFormat::parse(&format).map_err(|e| format!("{ns}.{method}: {e}"))?;
            Box::new(move |g, out| out.push_str(&format.format(g.now_ms as i64)))
        }
        ("date", "past") | ("date", "future") | ("date", "recent") => {
            take(1)?;
            let unit_ms = if method == "recent" {
                86_400_000.0
            } else {
                365.0 * 86_400_000.0
            };
            let n = match arg(0) {
                None => 1.0,
                Some(v) => number_arg(ns, method, v)?,
            };
            if n.is_nan() || n <= 0.0 || n > 1000.0 {
                return Err(format!(
                    "{ns}.{method} looks 0 to 1000 {} away, not {}",
                    if method == "recent" { "days" } else { "years" },
                    js_number(n)
                ));
            }
            let spec = NumberSpec {
                min: 1000.0,
                max: (n * unit_ms).floor(),
                precision: 1.0,
            };
            let sign = if method == "future" { 1 } else { -1 };
            Box::new(move |g, out| {
                let offset = g.number(&spec) as i64;
                out.push_str(&js_date_string(g.now_ms as i64 + sign * offset));
            })
        }
        ("date", "between") => {
            take(2)?;
            let (Some(from), Some(to)) = (arg(0), arg(1)) else {
                return Err("date.between needs two dates, e.g. date.between(\"2026-01-01\",\"2026-12-31\")".into());
            };
            let from = date_arg(&string_arg(ns, method, from)?)?;
            let to = date_arg(&string_arg(ns, method, to)?)?;
            if to < from {
                return Err("date.between: the second date is before the first".into());
            }
            let spec = NumberSpec {
                min: 0.0,
                max: (to - from) as f64,
                precision: 1.0,
            };
            Box::new(move |g, out| {
                out.push_str(&js_date_string(from + g.number(&spec) as i64));
            })
        }
        ("date", "month") | ("date", "weekday") => {
            take(1)?;
            let abbr = arg(0).and_then(|o| o.get("abbr")).and_then(Value::as_bool) == Some(true);
            let list: &'static [&'static str] = if method == "month" {
                &MONTHS
            } else {
                &WEEKDAYS
            };
            Box::new(move |g, out| {
                let name = g.pick(list);
                out.push_str(if abbr { &name[..3] } else { name });
            })
        }
        ("finance", "account") => {
            take(1)?;
            let len = match arg(0) {
                None => 8,
                Some(v) => count_arg(ns, method, v, 1, 64)?,
            };
            bound = len;
            Box::new(move |g, out| {
                for _ in 0..len {
                    out.push(char::from(b'0' + g.below(10) as u8));
                }
            })
        }
        ("finance", "accountName") => {
            take(0)?;
            Box::new(|g, out| {
                out.push_str(g.pick(ACCOUNT_TYPES));
                out.push_str(" Account");
            })
        }
        ("finance", "transactionType") => pick!(&["deposit", "withdrawal", "payment", "invoice"]),
        ("finance", "currencyCode") => fake!(currency::CurrencyCode()),
        ("finance", "currencyName") => fake!(currency::CurrencyName()),
        ("finance", "currencySymbol") => fake!(currency::CurrencySymbol()),
        ("finance", "bic") => fake!(finance::Bic()),
        ("hacker", "abbreviation") => pick!(HACKER_ABBREVIATIONS),
        ("hacker", "adjective") => pick!(HACKER_ADJECTIVES),
        ("hacker", "noun") => pick!(HACKER_NOUNS),
        ("hacker", "verb") => pick!(HACKER_VERBS),
        ("hacker", "ingverb") => pick!(HACKER_INGVERBS),
        ("hacker", "phrase") => {
            take(0)?;
            Box::new(|g, out| {
                let (adj, noun, verb, abbr) = (
                    g.pick(HACKER_ADJECTIVES),
                    g.pick(HACKER_NOUNS),
                    g.pick(HACKER_VERBS),
                    g.pick(HACKER_ABBREVIATIONS),
                );
                out.push_str(&match g.below(3) {
                    0 => format!("If we {verb} the {noun}, we can reach the {abbr} {noun} through the {adj} {abbr} {noun}!"),
                    1 => format!("Try to {verb} the {abbr} {noun}, maybe it will {verb} the {adj} {noun}!"),
                    _ => format!("The {abbr} {noun} is down, {verb} the {adj} {noun} so we can {verb} the {abbr} {noun}!"),
                });
            })
        }
        ("internet", "email") | ("internet", "exampleEmail") => {
            take(0)?;
            let example = method == "exampleEmail";
            Box::new(move |g, out| {
                user_name(g, out);
                out.push('@');
                if example {
                    out.push_str(g.pick(&["example.com", "example.net", "example.org"]));
                } else {
                    out.push_str(&g.fake(internet::FreeEmailProvider()));
                }
            })
        }
        ("internet", "userName") => {
            take(0)?;
            Box::new(user_name)
        }
        ("internet", "protocol") => pick!(&["http", "https"]),
        ("internet", "domainSuffix") => fake!(internet::DomainSuffix()),
        ("internet", "domainWord") => fake!(lorem::Word()),
        ("internet", "domainName") | ("internet", "url") => {
            take(0)?;
            let url = method == "url";
            Box::new(move |g, out| {
                if url {
                    out.push_str(g.pick(&["http", "https"]));
                    out.push_str("://");
                }
                out.push_str(&g.fake(lorem::Word()));
                out.push('.');
                out.push_str(&g.fake(internet::DomainSuffix()));
            })
        }
        ("internet", "ip") => fake!(internet::IPv4()),
        ("internet", "ipv6") => fake!(internet::IPv6()),
        ("internet", "userAgent") => fake!(internet::UserAgent()),
        ("internet", "mac") => fake!(internet::MACAddress()),
        ("internet", "color") => {
            take(0)?;
            Box::new(|g, out| {
                let rgb = g.rng.next_u32() & 0xff_ffff;
                out.push_str(&format!("#{rgb:06x}"));
            })
        }
        ("internet", "password") => {
            take(1)?;
            let len = match arg(0) {
                None => 15,
                Some(v) => count_arg(ns, method, v, 1, 256)?,
            };
            bound = len;
            Box::new(move |g, out| alphanumeric(g, len, out))
        }
        ("lorem", "word") | ("random", "word") => fake!(lorem::Word()),
        ("lorem", "words") | ("random", "words") | ("lorem", "slug") => {
            take(1)?;
            let fixed = match arg(0) {
                None if ns == "random" => None,
                None => Some(3),
                Some(v) => Some(count_arg(ns, method, v, 1, 1000)?),
            };
            let sep = if method == "slug" { '-' } else { ' ' };
            bound = fixed.unwrap_or(3) * WORD_BOUND;
            Box::new(move |g, out| {
                let n = fixed.unwrap_or_else(|| 1 + g.below(3));
                for i in 0..n {
                    if i > 0 {
                        out.push(sep);
                    }
                    out.push_str(&g.fake(lorem::Word()));
                }
            })
        }
        ("lorem", "sentence") | ("lorem", "text") => {
            take(1)?;
            let fixed = match arg(0) {
                None => None,
                Some(v) => Some(count_arg(ns, method, v, 1, 1000)?),
            };
            bound = fixed.map_or(SENTENCE_BOUND, |n| n * WORD_BOUND + 2);
            Box::new(move |g, out| sentence(g, fixed, out))
        }
        ("lorem", "sentences") | ("lorem", "lines") | ("lorem", "paragraph") => {
            take(1)?;
            let fixed = match arg(0) {
                None if method == "paragraph" => Some(3),
                None => None,
                Some(v) => Some(count_arg(ns, method, v, 1, 100)?),
            };
            let sep = if method == "lines" { "\n" } else { " " };
            bound = fixed.unwrap_or(6) * (SENTENCE_BOUND + 1);
            Box::new(move |g, out| {
                let n = fixed.unwrap_or_else(|| 2 + g.below(5));
                for i in 0..n {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    sentence(g, None, out);
                }
            })
        }
        ("lorem", "paragraphs") => {
            take(1)?;
            let n = match arg(0) {
                None => 3,
                Some(v) => count_arg(ns, method, v, 1, 100)?,
            };
            bound = n * (3 * (SENTENCE_BOUND + 1) + 4);
            Box::new(move |g, out| {
                for i in 0..n {
                    if i > 0 {
                        out.push_str(" \n \r");
                    }
                    for j in 0..3 {
                        if j > 0 {
                            out.push(' ');
                        }
                        sentence(g, None, out);
                    }
                }
            })
        }
        ("name", "firstName") => fake!(name::FirstName()),
        ("name", "lastName") => fake!(name::LastName()),
        ("name", "findName") => fake!(name::Name()),
        ("name", "prefix") => fake!(name::Title()),
        ("name", "suffix") => fake!(name::Suffix()),
        ("name", "title") | ("name", "jobTitle") => fake!(job::Title()),
        ("name", "jobDescriptor") => fake!(job::Seniority()),
        ("name", "jobArea") => fake!(job::Field()),
        ("name", "jobType") => fake!(job::Position()),
        ("random", "number") => {
            take(1)?;
            let spec = number_spec(arg(0))?;
            Box::new(move |g, out| out.push_str(&js_number(g.number(&spec))))
        }
        ("random", "arrayElement") => {
            take(1)?;
            let items: Vec<String> = match arg(0) {
                None => vec!["a".into(), "b".into(), "c".into()],
                Some(Value::Array(a)) if !a.is_empty() => a.iter().map(js_string).collect(),
                Some(other) => {
                    return Err(format!(
                        "random.arrayElement takes a list with at least one element, e.g. [\"OK\",\"FAIL\"]; not {other}"
                    ))
                }
            };
            bound = items.iter().map(String::len).max().unwrap_or(0);
            Box::new(move |g, out| out.push_str(&items[g.below(items.len())]))
        }
        ("random", "weightedArrayElement") => {
            take(1)?;
            let (weights, data) = weighted_arg(arg(0))?;
            let total: f64 = weights.iter().sum();
            bound = data.iter().map(String::len).max().unwrap_or(0);
            Box::new(move |g, out| {
                let x = g.unit() * total;
                let mut acc = 0.0;
                let mut chosen = data.len() - 1;
                for (i, w) in weights.iter().enumerate() {
                    acc += w;
                    if x < acc {
                        chosen = i;
                        break;
                    }
                }
                out.push_str(&data[chosen]);
            })
        }
        ("random", "objectElement") => {
            take(2)?;
            let object = match arg(0) {
                None => serde_json::json!({"foo": "bar", "too": "car"}),
                Some(v @ Value::Object(o)) if !o.is_empty() => v.clone(),
                Some(other) => {
                    return Err(format!(
                        "random.objectElement takes an object with at least one field; not {other}"
                    ))
                }
            };
            let keys = arg(1).and_then(Value::as_str) == Some("key");
            let items: Vec<String> = object
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| if keys { k.clone() } else { js_string(v) })
                        .collect()
                })
                .unwrap_or_default();
            bound = items.iter().map(String::len).max().unwrap_or(0);
            Box::new(move |g, out| out.push_str(&items[g.below(items.len())]))
        }
        ("random", "uuid") => {
            take(0)?;
            Box::new(|g, out| out.push_str(&crate::producer::uuid_v4(g.rng)))
        }
        ("random", "boolean") => {
            take(0)?;
            Box::new(|g, out| out.push_str(if g.unit() < 0.5 { "false" } else { "true" }))
        }
        ("random", "alphaNumeric") => {
            take(1)?;
            let len = match arg(0) {
                None => 1,
                Some(v) => count_arg(ns, method, v, 1, 1024)?,
            };
            bound = len;
            Box::new(move |g, out| alphanumeric(g, len, out))
        }
        ("random", "locale") => pick!(&["en"]),
        ("system", "fileName") => fake!(filesystem::FileName()),
        ("system", "fileExt") => fake!(filesystem::FileExtension()),
        ("system", "mimeType") => fake!(filesystem::MimeType()),
        ("system", "semver") => fake!(filesystem::Semver()),
        ("system", "filePath") => fake!(filesystem::FilePath()),
        ("system", "directoryPath") => fake!(filesystem::DirPath()),
        // The table above names a method this match does not know: a test
        // compiles every one of them, so this is never reached.
        _ => return Err(format!("{ns}.{method} is not available yet")),
    };
    Ok((render, bound))
}

/// A sentence as faker.js writes one: 3 to 10 words (or `fixed`), the
/// first capitalised, a full stop.
fn sentence(g: &mut Gen<'_>, fixed: Option<usize>, out: &mut String) {
    let n = fixed.unwrap_or_else(|| 3 + g.below(8));
    for i in 0..n {
        let word = g.fake(lorem::Word());
        if i == 0 {
            let mut chars = word.chars();
            if let Some(c) = chars.next() {
                out.extend(c.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(&word);
        }
    }
    out.push('.');
}

/// faker.js's `internet.userName`: a first name, perhaps `.` or `_` and a
/// last name, perhaps a number; letters, digits, `.` and `_` only. (Made
/// here rather than by `fake`'s, whose transliteration tables would add
/// half a megabyte to every worker's wasm for names that are ASCII already.)
fn user_name(g: &mut Gen<'_>, out: &mut String) {
    let keep = |s: String, out: &mut String| {
        out.extend(s.chars().filter(|c| c.is_ascii_alphanumeric()));
    };
    let first = g.fake(name::FirstName());
    keep(first, out);
    match g.below(3) {
        0 => out.push_str(&g.below(100).to_string()),
        shape => {
            out.push(if g.unit() < 0.5 { '.' } else { '_' });
            let last = g.fake(name::LastName());
            keep(last, out);
            if shape == 2 {
                out.push_str(&g.below(100).to_string());
            }
        }
    }
}

fn alphanumeric(g: &mut Gen<'_>, len: usize, out: &mut String) {
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    for _ in 0..len {
        out.push(char::from(CHARS[g.below(CHARS.len())]));
    }
}

/// faker.js's `helpers.replaceSymbols`: `#` a digit, `?` a capital
/// letter, `*` either.
pub(super) fn replace_symbols(g: &mut Gen<'_>, format: &str, out: &mut String) {
    for c in format.chars() {
        match c {
            '#' => out.push(char::from(b'0' + g.below(10) as u8)),
            '?' => out.push(char::from(b'A' + g.below(26) as u8)),
            '*' => {
                if g.unit() < 0.5 {
                    out.push(char::from(b'0' + g.below(10) as u8))
                } else {
                    out.push(char::from(b'A' + g.below(26) as u8))
                }
            }
            c => out.push(c),
        }
    }
}

fn number_spec(arg: Option<&Value>) -> Result<NumberSpec, String> {
    let mut spec = NumberSpec {
        min: 0.0,
        max: 99_999.0,
        precision: 1.0,
    };
    match arg {
        None => {}
        Some(Value::Number(n)) => spec.max = n.as_f64().unwrap_or(0.0),
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let x = v.as_f64().ok_or_else(|| {
                    format!("random.number's {k} must be a number, not {v}")
                })?;
                match k.as_str() {
                    "min" => spec.min = x,
                    "max" => spec.max = x,
                    "precision" => spec.precision = x,
                    _ => {
                        return Err(format!(
                            "random.number takes min, max and precision, not \"{k}\""
                        ))
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "random.number takes a maximum or {{\"min\":..,\"max\":..,\"precision\":..}}, not {other}"
            ))
        }
    }
    if spec.precision.is_nan() || spec.precision <= 0.0 || spec.precision > 1e15 {
        return Err(format!(
            "random.number's precision must be above 0, not {}",
            js_number(spec.precision)
        ));
    }
    if spec.min > spec.max {
        return Err(format!(
            "random.number: the minimum {} is above the maximum {}",
            js_number(spec.min),
            js_number(spec.max)
        ));
    }
    if spec.min.abs() > 9e15 || spec.max.abs() > 9e15 {
        return Err("random.number runs within ±9,000,000,000,000,000".into());
    }
    Ok(spec)
}

fn weighted_arg(arg: Option<&Value>) -> Result<(Vec<f64>, Vec<String>), String> {
    const USAGE: &str =
        "random.weightedArrayElement takes {\"weights\":[0.3,0.7],\"data\":[\"cat\",\"dog\"]}";
    let o = arg.and_then(Value::as_object).ok_or(USAGE)?;
    let (Some(Value::Array(weights)), Some(Value::Array(data))) = (o.get("weights"), o.get("data"))
    else {
        return Err(USAGE.into());
    };
    if weights.len() != data.len() || data.is_empty() {
        return Err(format!(
            "random.weightedArrayElement has {} weights for {} data elements; give one weight per element",
            weights.len(),
            data.len()
        ));
    }
    let weights = weights
        .iter()
        .map(|w| match w.as_f64() {
            Some(x) if x >= 0.0 && x.is_finite() => Ok(x),
            _ => Err(format!(
                "random.weightedArrayElement's weights are numbers of 0 or more, not {w}"
            )),
        })
        .collect::<Result<Vec<f64>, String>>()?;
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err("random.weightedArrayElement needs a weight above 0".into());
    }
    Ok((weights, data.iter().map(js_string).collect()))
}

/// Refuses more than `n` arguments.
pub(super) fn at_most(ns: &str, method: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() > n {
        Err(format!(
            "{ns}.{method} takes {} argument{}, not {}",
            n,
            if n == 1 { "" } else { "s" },
            args.len()
        ))
    } else {
        Ok(())
    }
}

pub(super) fn string_arg(ns: &str, method: &str, v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{ns}.{method} takes a string in double quotes here, not {v}"))
}

fn number_arg(ns: &str, method: &str, v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{ns}.{method} takes a number here, not {v}"))
}

pub(super) fn count_arg(
    ns: &str,
    method: &str,
    v: &Value,
    min: u64,
    max: u64,
) -> Result<usize, String> {
    match v.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(n as usize),
        _ => Err(format!(
            "{ns}.{method} takes a whole number from {min} to {max} here, not {v}"
        )),
    }
}

/// A date for `date.between`: `YYYY-MM-DD`, optionally with `THH:mm`,
/// `:ss`, `.SSS` and `Z`, read as UTC.
fn date_arg(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "date.between reads dates as YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss.sssZ (UTC), not {s:?}"
        )
    };
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (y, m, d) = (
        num(0, 4).ok_or_else(bad)?,
        num(5, 2).ok_or_else(bad)?,
        num(8, 2).ok_or_else(bad)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let mut ms = shardlab_engine::time_pattern::days_from_civil(y, m as u32, d as u32) * 86_400_000;
    let rest = s[10..].strip_suffix('Z').unwrap_or(&s[10..]);
    if !rest.is_empty() {
        let r = rest.as_bytes();
        if r[0] != b'T' && r[0] != b' ' || r.len() < 6 || r[3] != b':' {
            return Err(bad());
        }
        let hour = num(11, 2).ok_or_else(bad)?;
        let minute = num(14, 2).ok_or_else(bad)?;
        let mut second = 0;
        let mut millis = 0;
        if r.len() > 6 {
            if r[6] != b':' || r.len() < 9 {
                return Err(bad());
            }
            second = num(17, 2).ok_or_else(bad)?;
            if r.len() > 9 {
                if r[9] != b'.' || r.len() != 13 {
                    return Err(bad());
                }
                millis = num(20, 3).ok_or_else(bad)?;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad());
        }
        ms += ((hour * 60 + minute) * 60 + second) * 1000 + millis;
    }
    Ok(ms)
}

/// How JavaScript writes a number: integers without a fraction, others in
/// their shortest form.
pub fn js_number(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.fract() == 0.0 && x.abs() < 1e21 {
        format!("{}", x as i128)
    } else {
        format!("{x}")
    }
}

/// A JSON value as text in a record: strings without their quotes (the
/// template has its own), numbers as JavaScript writes them, anything
/// else as JSON.
pub(super) fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(js_number).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// A JavaScript `Date` turned into text, in UTC:
/// `Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(ms: i64) -> String {
    MomentFormat::parse("ddd MMM DD YYYY HH:mm:ss [GMT+0000 (Coordinated Universal Time)]")
        .map(|f| f.format(ms))
        .unwrap_or_default()
}

// Word lists the `fake` crate has no counterpart for (faker.js's commerce,
// finance account names and hacker talk), in our own words.
const COLORS: &[&str] = &[
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "purple",
    "black",
    "white",
    "grey",
    "silver",
    "gold",
    "teal",
    "navy",
    "maroon",
    "olive",
    "lime",
    "cyan",
    "magenta",
    "indigo",
    "violet",
    "pink",
    "brown",
    "beige",
    "turquoise",
    "coral",
    "salmon",
    "mint",
    "lavender",
    "ivory",
    "tan",
];
const DEPARTMENTS: &[&str] = &[
    "Books",
    "Movies",
    "Music",
    "Games",
    "Electronics",
    "Computers",
    "Home",
    "Garden",
    "Tools",
    "Grocery",
    "Health",
    "Beauty",
    "Toys",
    "Kids",
    "Baby",
    "Clothing",
    "Shoes",
    "Jewelry",
    "Sports",
    "Outdoors",
    "Automotive",
    "Industrial",
];
const PRODUCT_ADJECTIVES: &[&str] = &[
    "Small",
    "Ergonomic",
    "Rustic",
    "Intelligent",
    "Gorgeous",
    "Incredible",
    "Fantastic",
    "Practical",
    "Sleek",
    "Awesome",
    "Generic",
    "Handcrafted",
    "Handmade",
    "Licensed",
    "Refined",
    "Unbranded",
    "Tasty",
    "Compact",
    "Durable",
    "Lightweight",
];
const PRODUCT_MATERIALS: &[&str] = &[
    "Steel", "Wooden", "Concrete", "Plastic", "Cotton", "Granite", "Rubber", "Metal", "Soft",
    "Fresh", "Frozen", "Bamboo", "Leather", "Glass", "Ceramic", "Wool",
];
const PRODUCTS: &[&str] = &[
    "Chair", "Car", "Computer", "Keyboard", "Mouse", "Bike", "Ball", "Gloves", "Pants", "Shirt",
    "Table", "Shoes", "Hat", "Towels", "Soap", "Tuna", "Chicken", "Fish", "Cheese", "Bacon",
    "Pizza", "Salad", "Sausages", "Chips", "Lamp", "Backpack", "Watch", "Kettle",
];
const ACCOUNT_TYPES: &[&str] = &[
    "Checking",
    "Savings",
    "Money Market",
    "Investment",
    "Home Loan",
    "Credit Card",
    "Auto Loan",
    "Personal Loan",
];
const HACKER_ABBREVIATIONS: &[&str] = &[
    "TCP", "HTTP", "SDD", "RAM", "GB", "CSS", "SSL", "AGP", "SQL", "FTP", "PCI", "AI", "ADP",
    "RSS", "XML", "EXE", "COM", "HDD", "THX", "SMTP", "SMS", "USB", "PNG", "SAS", "IB", "SCSI",
    "JSON", "XSS", "JBOD",
];
const HACKER_ADJECTIVES: &[&str] = &[
    "auxiliary",
    "primary",
    "back-end",
    "digital",
    "open-source",
    "virtual",
    "cross-platform",
    "redundant",
    "online",
    "haptic",
    "multi-byte",
    "bluetooth",
    "wireless",
    "1080p",
    "neural",
    "optical",
    "solid state",
    "mobile",
];
const HACKER_NOUNS: &[&str] = &[
    "driver",
    "protocol",
    "bandwidth",
    "panel",
    "microchip",
    "program",
    "port",
    "card",
    "array",
    "interface",
    "system",
    "sensor",
    "firewall",
    "hard drive",
    "pixel",
    "alarm",
    "feed",
    "monitor",
    "application",
    "transmitter",
    "bus",
    "circuit",
    "capacitor",
    "matrix",
];
const HACKER_VERBS: &[&str] = &[
    "back up",
    "bypass",
    "hack",
    "override",
    "compress",
    "copy",
    "navigate",
    "index",
    "connect",
    "generate",
    "quantify",
    "calculate",
    "synthesize",
    "input",
    "transmit",
    "program",
    "reboot",
    "parse",
];
const HACKER_INGVERBS: &[&str] = &[
    "backing up",
    "bypassing",
    "hacking",
    "overriding",
    "compressing",
    "copying",
    "navigating",
    "indexing",
    "connecting",
    "generating",
    "quantifying",
    "calculating",
    "synthesizing",
    "transmitting",
    "programming",
    "parsing",
];
