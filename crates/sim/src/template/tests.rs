use super::faker::METHODS;
use super::*;
use crate::rng::substream;

// 2026-03-05T14:07:09.042Z, a Thursday.
const NOW: u64 = 1_772_719_629_042;

fn records(template: &str, n: usize) -> Vec<String> {
    let t = RecordTemplate::compile(template).unwrap_or_else(|e| panic!("{template}: {e}"));
    let mut rng = substream(1, "producer-0");
    (0..n).map(|_| t.render(&mut rng, NOW)).collect()
}

fn error(template: &str) -> TemplateError {
    RecordTemplate::compile(template).expect_err(template)
}

#[test]
fn the_kdg_help_pages_csv_example() {
    for r in records(
        "{{name.firstName}},{{name.lastName}},{{random.number(70)}},{{internet.ip}}",
        200,
    ) {
        let fields: Vec<&str> = r.split(',').collect();
        assert_eq!(fields.len(), 4, "{r}");
        assert!(fields[0].chars().all(char::is_alphabetic), "{r}");
        assert!(
            fields[1].chars().all(|c| c.is_alphabetic() || c == '\''),
            "{r}"
        );
        assert!(fields[2].parse::<u32>().unwrap() <= 70, "{r}");
        assert!(fields[3].parse::<std::net::Ipv4Addr>().is_ok(), "{r}");
    }
}

#[test]
fn the_kdg_help_pages_sensor_example_makes_one_line_json() {
    // Verbatim from the KDG's help page, line breaks and all.
    let template = r#"{
    "sensorId": {{random.number(50)}},
    "currentTemperature": {{random.number(
        {
            "min":10,
            "max":150
        }
    )}},
    "status": "{{random.arrayElement(
        ["OK","FAIL","WARN"]
    )}}"
}"#;
    let mut statuses = std::collections::BTreeSet::new();
    for r in records(template, 500) {
        assert!(!r.contains('\n'), "{r}");
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        assert!(v["sensorId"].as_u64().unwrap() <= 50);
        assert!((10..=150).contains(&v["currentTemperature"].as_u64().unwrap()));
        statuses.insert(v["status"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["FAIL", "OK", "WARN"]
    );
}

#[test]
fn random_number_is_faker_js_inclusive_with_precision() {
    let seen: std::collections::BTreeSet<String> =
        records("{{random.number(2)}}", 300).into_iter().collect();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["0", "1", "2"]);
    for r in records(
        r#"{{random.number({"min":-10,"max":10,"precision":0.01})}}"#,
        500,
    ) {
        let x: f64 = r.parse().unwrap();
        assert!((-10.0..=10.01).contains(&x), "{r}");
        let decimals = r.split('.').nth(1).map_or(0, str::len);
        assert!(decimals <= 2, "{r}");
    }
    for r in records("{{random.number}}", 100) {
        assert!(r.parse::<u32>().unwrap() <= 99_999);
    }
}

#[test]
fn weighted_array_element_follows_its_weights() {
    let template =
        r#"{{random.weightedArrayElement({"weights":[0.3,0.2,0.5],"data":["cat","fish","dog"]})}}"#;
    let all = records(template, 10_000);
    let share = |w: &str| all.iter().filter(|r| *r == w).count();
    assert!((2_800..=3_200).contains(&share("cat")), "{}", share("cat"));
    assert!(
        (1_800..=2_200).contains(&share("fish")),
        "{}",
        share("fish")
    );
    assert!((4_800..=5_200).contains(&share("dog")), "{}", share("dog"));
}

#[test]
fn dates_come_from_the_virtual_clock() {
    let r = &records(
        r#"{{date.now}}|{{date.utc}}|{{date.now("YYYY-MM-DD HH:mm:ss.SSS")}}|{{date.now("x")}}|{{current.timestamp}}|{{date.utc("dddd, MMMM Do YYYY, h:mm:ss a")}}"#,
        1,
    )[0];
    assert_eq!(
        r,
        "2026-03-05T14:07:09+00:00|2026-03-05T14:07:09Z|2026-03-05 14:07:09.042|1772719629042|\
         2026-03-05T14:07:09+00:00|Thursday, March 5th 2026, 2:07:09 pm"
    );
    for r in records("{{date.past}}", 50) {
        assert!(r.ends_with("GMT+0000 (Coordinated Universal Time)"), "{r}");
        assert!(
            r.starts_with("Mon ") || r.contains(" 2025 ") || r.contains(" 2026 "),
            "{r}"
        );
    }
    let between = records(r#"{{date.between("2020-01-01","2020-01-02")}}"#, 50);
    assert!(between
        .iter()
        .all(|r| r.starts_with("Wed Jan 01 2020") || r.starts_with("Thu Jan 02 2020 00:00:00")));
}

#[test]
fn the_same_seed_makes_the_same_records() {
    let t = RecordTemplate::compile(
        "{{name.findName}} {{internet.email}} {{address.city}} {{lorem.sentence}} {{random.uuid}}",
    )
    .unwrap();
    let run = |seed| {
        let mut rng = substream(seed, "producer-0");
        (0..50).map(|_| t.render(&mut rng, NOW)).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
    // Records differ from one another.
    let r = run(7);
    assert!(r.windows(2).all(|w| w[0] != w[1]));
}

#[test]
fn every_function_renders_within_its_bound() {
    for (ns, methods) in METHODS {
        for method in *methods {
            let args = match (*ns, *method) {
                ("date", "between") => r#"("2026-01-01","2026-02-01")"#,
                ("random", "weightedArrayElement") => r#"({"weights":[1,2],"data":["a","bb"]})"#,
                ("helpers", "replaceSymbols" | "replaceSymbolWithNumber") => r###"("##-??-**")"###,
                ("helpers", "slugify") => r#"("Hello World!")"#,
                _ => "",
            };
            let template = format!("{{{{{ns}.{method}{args}}}}}");
            let t =
                RecordTemplate::compile(&template).unwrap_or_else(|e| panic!("{template}: {e}"));
            let mut rng = substream(3, ns);
            let mut distinct = std::collections::BTreeSet::new();
            for _ in 0..1_000 {
                let r = t.render(&mut rng, NOW);
                assert!(
                    r.len() <= t.bound(),
                    "{template} made {} bytes, over its bound {}: {r}",
                    r.len(),
                    t.bound()
                );
                distinct.insert(r);
            }
            // Every function but the clock's and the one-locale list varies.
            let fixed = matches!(
                (*ns, *method),
                ("date", "now" | "utc" | "simTime")
                    | ("random", "locale")
                    | ("helpers", "slugify")
                    | ("image", "imageUrl" | "dataUri")
            ) || (*ns == "image" && super::cards::IMAGE_CATEGORIES.contains(method));
            assert!(fixed || distinct.len() > 1, "{template} never varies");
            assert!(distinct.iter().all(|r| !r.is_empty()), "{template}");
        }
    }
}

#[test]
fn calls_with_arguments() {
    let r = &records(
        r####"{{random.arrayElement([1, 2.5, "x"])}} {{lorem.words(4)}} {{random.alphaNumeric(12)}} {{address.zipCode("###-??")}} {{commerce.price(10,20,2,"$")}} {{finance.amount(1,2,3)}} {{date.now(YYYY)}}"####,
        1,
    )[0];
    let parts: Vec<&str> = r.split(' ').collect();
    assert!(["1", "2.5", "x"].contains(&parts[0]), "{r}");
    assert_eq!(parts[1..5].len(), 4);
    assert_eq!(parts[5].len(), 12);
    assert!(parts[6].len() == 6 && parts[6].as_bytes()[3] == b'-', "{r}");
    assert!(
        parts[7].starts_with('$') && parts[7].ends_with(".00"),
        "{r}"
    );
    let amount: f64 = parts[8].parse().unwrap();
    assert!(
        (1.0..=2.001).contains(&amount) && parts[8].len() == 5,
        "{r}"
    );
    // Text that is not JSON is one string, as faker.js passes it on.
    assert_eq!(parts[9], "2026");
}

#[test]
fn bad_templates_say_where_and_what() {
    let e = error("{\n  \"name\": \"{{name.frstName}}\"\n}");
    assert_eq!((e.line, e.column), (2, 14));
    assert!(e.message.contains("name has no method \"frstName\""), "{e}");
    assert!(e.message.contains("firstName"), "{e}");
    assert!(error("{{nme.firstName}}")
        .message
        .contains("no namespace \"nme\""));
    assert!(error("x {{ name.firstName }}")
        .message
        .contains("a space after {{"));
    assert!(error("{{name.firstName }}")
        .message
        .contains("a space before }}"));
    assert!(error("{{name.firstName").message.contains("never closed"));
    assert!(error("{{random.number(5}}")
        .message
        .contains("never closed with )"));
    assert!(error("{{firstName}}").message.contains("namespace.method"));
    assert!(error("   \n ").message.contains("empty"));
    let e = error(r#"{{random.number({"min":5,"max":1})}}"#);
    assert!(
        e.message.contains("minimum 5 is above the maximum 1"),
        "{e}"
    );
    let e = error(r#"{{random.weightedArrayElement({"weights":[1],"data":["a","b"]})}}"#);
    assert!(e.message.contains("1 weights for 2 data elements"), "{e}");
    assert!(error("{{random.arrayElement(5)}}")
        .message
        .contains("a list"));
    assert!(error("{{name.firstName(1)}}")
        .message
        .contains("takes 0 arguments"));
    assert!(error(r#"{{date.now("[open")}}"#)
        .message
        .contains("never closes"));
    // Records that could not fit a Kinesis record are refused up front.
    let big = "{{lorem.paragraphs(100)}}".repeat(20);
    let e = error(&big);
    assert!(e.message.contains("1 MiB"), "{e}");
    assert!(error(&"x".repeat(MAX_TEMPLATE_BYTES + 1))
        .message
        .contains("up to"));
}

#[test]
fn text_around_calls_is_kept_but_for_line_breaks() {
    assert_eq!(records("  a {b} }} c\r\n d  ", 1)[0], "a {b} }} c d");
    assert_eq!(records("{\"n\":{{random.number(0)}}}", 1)[0], "{\"n\":0}");
}

#[test]
fn helpers_replace_symbols_and_shuffle_lists() {
    let mut rng = substream(5, "producer-0");
    let t = RecordTemplate::compile(
        r##"{{helpers.replaceSymbolWithNumber("#!-@@","@")}} {{helpers.replaceSymbols("#?*")}} {{helpers.shuffle(["x","y","z"])}} {{helpers.slugify("Hello World!")}}"##,
    )
    .unwrap();
    for _ in 0..200 {
        let r = t.render(&mut rng, NOW);
        let parts: Vec<&str> = r.split(' ').collect();
        let b = parts[0].as_bytes();
        // `#` stays (the symbol is `@`), `!` is 2 to 9, `@` a digit.
        assert_eq!(&b[..1], b"#", "{r}");
        assert!((b'2'..=b'9').contains(&b[1]), "{r}");
        assert!(b[3].is_ascii_digit() && b[4].is_ascii_digit(), "{r}");
        let s = parts[1].as_bytes();
        assert!(s[0].is_ascii_digit() && s[1].is_ascii_uppercase(), "{r}");
        assert!(s[2].is_ascii_digit() || s[2].is_ascii_uppercase(), "{r}");
        let mut shuffled: Vec<&str> = parts[2].split(',').collect();
        shuffled.sort_unstable();
        assert_eq!(shuffled, ["x", "y", "z"], "{r}");
        assert_eq!(parts[3], "Hello-World", "{r}");
    }
    let e = RecordTemplate::compile(r##"{{helpers.replaceSymbolWithNumber("#","ab")}}"##)
        .unwrap_err()
        .to_string();
    assert!(e.contains("symbol is one character"), "{e}");
}

#[test]
fn helper_cards_are_json_objects_with_faker_fields() {
    let mut rng = substream(9, "producer-0");
    for (method, fields) in [
        (
            "userCard",
            &[
                "name", "username", "email", "address", "phone", "website", "company",
            ][..],
        ),
        (
            "contextualCard",
            &[
                "name", "username", "avatar", "email", "dob", "phone", "address", "website",
                "company",
            ],
        ),
        (
            "createCard",
            &[
                "name",
                "username",
                "email",
                "address",
                "phone",
                "website",
                "company",
                "posts",
                "accountHistory",
            ],
        ),
        (
            "createTransaction",
            &["amount", "date", "business", "name", "type", "account"],
        ),
    ] {
        let t = RecordTemplate::compile(&format!("{{{{helpers.{method}}}}}")).unwrap();
        for _ in 0..50 {
            let r = t.render(&mut rng, NOW);
            let v: serde_json::Value =
                serde_json::from_str(&r).unwrap_or_else(|e| panic!("{method}: {e}: {r}"));
            let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
            let mut want = fields.to_vec();
            want.sort_unstable();
            let mut got = keys.clone();
            got.sort_unstable();
            assert_eq!(got, want, "{method}: {r}");
            // faker.js's order, as written.
            let at: Vec<usize> = fields
                .iter()
                .map(|f| r.find(&format!("\"{f}\":")).unwrap())
                .collect();
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{method}: {r}");
        }
    }
    // A transaction's date is the record's arrival; a card's birth date before it.
    let t = RecordTemplate::compile("{{helpers.createTransaction}}").unwrap();
    let v: serde_json::Value = serde_json::from_str(&t.render(&mut rng, NOW)).unwrap();
    assert_eq!(v["date"], shardlab_engine::time::iso8601(NOW));
    let t = RecordTemplate::compile("{{helpers.contextualCard}}").unwrap();
    let v: serde_json::Value = serde_json::from_str(&t.render(&mut rng, NOW)).unwrap();
    let dob = v["dob"].as_str().unwrap();
    assert!(
        dob < shardlab_engine::time::iso8601(NOW).as_str() && dob > "1970",
        "{dob}"
    );
    assert!(v["avatar"]
        .as_str()
        .unwrap()
        .starts_with("https://s3.amazonaws.com/uifaces/faces/twitter/"));
    assert_eq!(
        v["address"]["geo"]["lat"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn image_urls_are_lorempixels_as_in_faker() {
    let mut rng = substream(2, "producer-0");
    let render = |t: &str, rng: &mut rand_chacha::ChaCha8Rng| {
        RecordTemplate::compile(t).unwrap().render(rng, NOW)
    };
    assert_eq!(
        render("{{image.imageUrl}}", &mut rng),
        "http://lorempixel.com/640/480"
    );
    assert_eq!(
        render(r#"{{image.imageUrl(200,100,"cats",false,true)}}"#, &mut rng),
        "https://lorempixel.com/200/100/cats"
    );
    assert_eq!(
        render("{{image.food(300,200)}}", &mut rng),
        "http://lorempixel.com/300/200/food"
    );
    let r = render("{{image.nature(300,200,true)}}", &mut rng);
    let n = r
        .strip_prefix("http://lorempixel.com/300/200/nature?")
        .unwrap();
    assert!(n.parse::<u32>().is_ok(), "{r}");
    let any = render("{{image.image}}", &mut rng);
    let category = any.strip_prefix("http://lorempixel.com/640/480/").unwrap();
    assert!(super::cards::IMAGE_CATEGORIES.contains(&category), "{any}");
    let uri = render("{{image.dataUri(20,10)}}", &mut rng);
    assert!(uri.starts_with("data:image/svg+xml;charset=UTF-8,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22"), "{uri}");
    assert!(uri.contains("20x10%3C%2Ftext%3E"), "{uri}");
    for bad in [
        r#"{{image.imageUrl(0)}}"#,
        r#"{{image.cats(1,2,"yes")}}"#,
        r#"{{image.imageUrl(1,1,"a/b")}}"#,
    ] {
        assert!(RecordTemplate::compile(bad).is_err(), "{bad}");
    }
}
