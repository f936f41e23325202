//! From application text to statements.
//!
//! sqlparser tokenizes and parses expressions and queries; the streaming
//! clauses it lacks are rewritten at token level first, keeping every
//! token's original position so errors point at what the learner wrote:
//!
//! - `SELECT STREAM` drops the marker (every query here is continuous);
//! - `STEP(x BY n)` becomes `STEP(x, n)`;
//! - `CURSOR(SELECT ...)` becomes a subquery argument;
//! - Flink's `TABLE t` inside a call becomes the bare name `t`;
//! - `INTERVAL '10' MINUTES` becomes `INTERVAL '10' MINUTE`;
//! - KDA's `(ts - ts) SECOND` becomes `__INTERVAL_SECOND((ts - ts))`;
//! - `WINDOWED BY STAGGER (PARTITION BY k RANGE INTERVAL ...)` becomes
//!   `GROUP BY __STAGGER(INTERVAL ..., k)`.
//!
//! The statements sqlparser has no variant for (`CREATE STREAM`,
//! `CREATE PUMP`, Flink's `CREATE TABLE` with `WATERMARK` and `METADATA`)
//! are read here, using sqlparser for their names, types and expressions.

use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, Word};

use crate::error::SqlError;

/// KDA limits application code to 102,400 characters.
pub const MAX_CODE_CHARS: usize = 102_400;

/// A column of `CREATE STREAM` / `CREATE TABLE`.
#[derive(Clone, Debug)]
pub struct ColumnDef {
    pub name: ast::Ident,
    pub data_type: ast::DataType,
    /// Flink `METADATA FROM 'timestamp'`: the record's arrival time.
    pub metadata: Option<String>,
}

/// One statement of an application.
#[derive(Clone, Debug)]
pub enum Statement {
    /// KDA `CREATE [OR REPLACE] STREAM name (cols)`.
    CreateStream {
        name: ast::Ident,
        columns: Vec<ColumnDef>,
        at: Location,
    },
    /// Flink `CREATE TABLE name (cols, WATERMARK FOR c AS e) WITH (...)`.
    CreateTable {
        name: ast::Ident,
        columns: Vec<ColumnDef>,
        /// `name AS expr` columns (e.g. `proc AS PROCTIME()`).
        computed: Vec<(ast::Ident, ast::Expr)>,
        watermark: Option<Box<(ast::Ident, ast::Expr)>>,
        options: Vec<(String, String)>,
        at: Location,
    },
    /// KDA `CREATE PUMP name AS INSERT INTO ...`, or Flink's bare
    /// `INSERT INTO ...` (a pump without a name).
    Insert {
        pump: Option<ast::Ident>,
        target: ast::Ident,
        columns: Vec<ast::Ident>,
        query: Box<ast::Query>,
        at: Location,
    },
    /// A query on its own: its rows go to the results view.
    Query {
        query: Box<ast::Query>,
        at: Location,
    },
}

/// Parses a whole application.
pub fn parse_application(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let chars = sql.chars().count();
    if chars > MAX_CODE_CHARS {
        return Err(SqlError::at(
            Location::new(1, 1),
            None,
            format!("The application code is {chars} characters; the limit is {MAX_CODE_CHARS}."),
        ));
    }
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::at(e.location, None, e.message.clone()))?;
    let tokens: Vec<TokenWithSpan> = tokens
        .into_iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let mut statements = Vec::new();
    for stmt in split_statements(tokens) {
        let end = stmt
            .last()
            .map(|t| t.span.end)
            .unwrap_or(Location::new(1, 1));
        match parse_statement(stmt) {
            Ok(s) => statements.push(s),
            // sqlparser reports the end of input at 0:0; point after the
            // statement's last token instead.
            Err(mut e) if e.line == 0 => {
                e.line = end.line;
                e.column = end.column;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
    }
    if statements.is_empty() {
        return Err(SqlError::at(
            Location::new(1, 1),
            None,
            "The application has no statements.".into(),
        ));
    }
    Ok(statements)
}

fn split_statements(tokens: Vec<TokenWithSpan>) -> Vec<Vec<TokenWithSpan>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut depth = 0i32;
    for t in tokens {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth <= 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            _ => {}
        }
        cur.push(t);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) fn is_word(t: &Token, w: &str) -> bool {
    matches!(t, Token::Word(Word { value, quote_style: None, .. }) if value.eq_ignore_ascii_case(w))
}

fn word(text: &str, span: Span) -> TokenWithSpan {
    TokenWithSpan::new(
        Token::Word(Word {
            value: text.to_string(),
            quote_style: None,
            keyword: Keyword::NoKeyword,
        }),
        span,
    )
}

fn parser(tokens: Vec<TokenWithSpan>) -> Parser<'static> {
    static DIALECT: GenericDialect = GenericDialect {};
    Parser::new(&DIALECT).with_tokens_with_locations(tokens)
}

fn parse_statement(tokens: Vec<TokenWithSpan>) -> Result<Statement, SqlError> {
    let at = tokens[0].span.start;
    let tokens = rewrite(tokens)?;
    let t = |i: usize| tokens.get(i).map(|t| &t.token);
    let is = |i: usize, w: &str| t(i).is_some_and(|t| is_word(t, w));
    if is(0, "CREATE") {
        let mut i = 1;
        if is(1, "OR") && is(2, "REPLACE") {
            i = 3;
        }
        if is(i, "STREAM") {
            return create_stream(tokens[i + 1..].to_vec(), at);
        }
        if is(i, "PUMP") {
            return create_pump(tokens[i + 1..].to_vec(), at);
        }
        if is(i, "TABLE") {
            return create_table(tokens[i + 1..].to_vec(), at);
        }
        return Err(unsupported(
            &tokens[i.min(tokens.len() - 1)],
            "Only CREATE STREAM, CREATE PUMP and CREATE TABLE are supported here.",
        ));
    }
    if is(0, "INSERT") {
        return insert(tokens, None, at);
    }
    if is(0, "SELECT") || is(0, "WITH") || t(0) == Some(&Token::LParen) {
        let mut p = parser(tokens);
        let query = p.parse_query().map_err(SqlError::from_parser)?;
        expect_end(&mut p)?;
        return Ok(Statement::Query { query, at });
    }
    Err(unsupported(
        &tokens[0],
        "A statement starts with CREATE STREAM, CREATE PUMP, CREATE TABLE, INSERT INTO or SELECT.",
    ))
}

fn unsupported(t: &TokenWithSpan, message: &str) -> SqlError {
    SqlError::at(t.span.start, Some(t.token.to_string()), message.to_string())
}

fn expect_end(p: &mut Parser) -> Result<(), SqlError> {
    let next = p.peek_token();
    if next.token != Token::EOF {
        return Err(SqlError::at(
            next.span.start,
            Some(next.token.to_string()),
            format!("Unexpected {} after the end of the statement.", next.token),
        ));
    }
    Ok(())
}

fn create_stream(tokens: Vec<TokenWithSpan>, at: Location) -> Result<Statement, SqlError> {
    let mut p = parser(tokens);
    let name = last_part(p.parse_object_name(false).map_err(SqlError::from_parser)?);
    p.expect_token(&Token::LParen)
        .map_err(SqlError::from_parser)?;
    let mut columns = Vec::new();
    loop {
        let col = p.parse_identifier().map_err(SqlError::from_parser)?;
        let data_type = p.parse_data_type().map_err(SqlError::from_parser)?;
        // NOT NULL is accepted; streams do not enforce it.
        let _ = p.parse_keywords(&[Keyword::NOT, Keyword::NULL]);
        columns.push(ColumnDef {
            name: col,
            data_type,
            metadata: None,
        });
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_token(&Token::RParen)
            .map_err(SqlError::from_parser)?;
        break;
    }
    // KDA allows a trailing `DESCRIPTION '...'`.
    if is_word(&p.peek_token().token, "DESCRIPTION") {
        p.next_token();
        p.parse_literal_string().map_err(SqlError::from_parser)?;
    }
    expect_end(&mut p)?;
    Ok(Statement::CreateStream { name, columns, at })
}

fn create_pump(tokens: Vec<TokenWithSpan>, at: Location) -> Result<Statement, SqlError> {
    let mut p = parser(tokens);
    let name = last_part(p.parse_object_name(false).map_err(SqlError::from_parser)?);
    p.expect_keyword(Keyword::AS)
        .map_err(SqlError::from_parser)?;
    let rest: Vec<TokenWithSpan> = remaining(&mut p);
    if !rest.first().is_some_and(|t| is_word(&t.token, "INSERT")) {
        let t = rest
            .first()
            .cloned()
            .unwrap_or_else(|| TokenWithSpan::wrap(Token::EOF));
        return Err(unsupported(
            &t,
            "A pump is `CREATE PUMP name AS INSERT INTO stream SELECT ...`.",
        ));
    }
    insert(rest, Some(name), at)
}

fn remaining(p: &mut Parser) -> Vec<TokenWithSpan> {
    let mut out = Vec::new();
    loop {
        let t = p.next_token();
        if t.token == Token::EOF {
            return out;
        }
        out.push(t);
    }
}

fn insert(
    tokens: Vec<TokenWithSpan>,
    pump: Option<ast::Ident>,
    at: Location,
) -> Result<Statement, SqlError> {
    let mut p = parser(tokens);
    p.expect_keyword(Keyword::INSERT)
        .map_err(SqlError::from_parser)?;
    // KDA's `INSERT EXPEDITED` only changes scheduling on AWS.
    if is_word(&p.peek_token().token, "EXPEDITED") {
        p.next_token();
    }
    p.expect_keyword(Keyword::INTO)
        .map_err(SqlError::from_parser)?;
    let target = last_part(p.parse_object_name(false).map_err(SqlError::from_parser)?);
    let mut columns = Vec::new();
    if p.peek_token().token == Token::LParen {
        // `(cols)` unless the parenthesis opens the query itself.
        let after = p.peek_nth_token(1).token;
        if !is_word(&after, "SELECT") && !is_word(&after, "WITH") {
            p.next_token();
            columns = p
                .parse_comma_separated(|p| p.parse_identifier())
                .map_err(SqlError::from_parser)?;
            p.expect_token(&Token::RParen)
                .map_err(SqlError::from_parser)?;
        }
    }
    let query = p.parse_query().map_err(SqlError::from_parser)?;
    expect_end(&mut p)?;
    Ok(Statement::Insert {
        pump,
        target,
        columns,
        query,
        at,
    })
}

fn create_table(tokens: Vec<TokenWithSpan>, at: Location) -> Result<Statement, SqlError> {
    let mut p = parser(tokens);
    let name = last_part(p.parse_object_name(false).map_err(SqlError::from_parser)?);
    p.expect_token(&Token::LParen)
        .map_err(SqlError::from_parser)?;
    let mut columns = Vec::new();
    let mut computed = Vec::new();
    let mut watermark = None;
    loop {
        let next = p.peek_token();
        if is_word(&next.token, "WATERMARK") {
            p.next_token();
            p.expect_keyword(Keyword::FOR)
                .map_err(SqlError::from_parser)?;
            let col = p.parse_identifier().map_err(SqlError::from_parser)?;
            p.expect_keyword(Keyword::AS)
                .map_err(SqlError::from_parser)?;
            let e = p.parse_expr().map_err(SqlError::from_parser)?;
            watermark = Some(Box::new((col, e)));
        } else if is_word(&next.token, "PRIMARY") {
            // `PRIMARY KEY (...) NOT ENFORCED` says nothing to a stream.
            while !matches!(
                p.peek_token().token,
                Token::Comma | Token::RParen | Token::EOF
            ) {
                if p.peek_token().token == Token::LParen {
                    p.next_token();
                    p.parse_comma_separated(|p| p.parse_identifier())
                        .map_err(SqlError::from_parser)?;
                    p.expect_token(&Token::RParen)
                        .map_err(SqlError::from_parser)?;
                } else {
                    p.next_token();
                }
            }
        } else {
            let col = p.parse_identifier().map_err(SqlError::from_parser)?;
            if p.parse_keyword(Keyword::AS) {
                let e = p.parse_expr().map_err(SqlError::from_parser)?;
                computed.push((col, e));
            } else {
                let data_type = p.parse_data_type().map_err(SqlError::from_parser)?;
                let mut metadata = None;
                if is_word(&p.peek_token().token, "METADATA") {
                    p.next_token();
                    let key = if p.parse_keyword(Keyword::FROM) {
                        p.parse_literal_string().map_err(SqlError::from_parser)?
                    } else {
                        col.value.clone()
                    };
                    metadata = Some(key);
                    if is_word(&p.peek_token().token, "VIRTUAL") {
                        p.next_token();
                    }
                }
                // NOT NULL is accepted; streams do not enforce it.
                let _ = p.parse_keywords(&[Keyword::NOT, Keyword::NULL]);
                columns.push(ColumnDef {
                    name: col,
                    data_type,
                    metadata,
                });
            }
        }
        if p.consume_token(&Token::Comma) {
            continue;
        }
        p.expect_token(&Token::RParen)
            .map_err(SqlError::from_parser)?;
        break;
    }
    let mut options = Vec::new();
    if p.parse_keyword(Keyword::WITH) {
        p.expect_token(&Token::LParen)
            .map_err(SqlError::from_parser)?;
        loop {
            let k = p.parse_literal_string().map_err(SqlError::from_parser)?;
            p.expect_token(&Token::Eq).map_err(SqlError::from_parser)?;
            let v = p.parse_literal_string().map_err(SqlError::from_parser)?;
            options.push((k, v));
            if p.consume_token(&Token::Comma) {
                continue;
            }
            p.expect_token(&Token::RParen)
                .map_err(SqlError::from_parser)?;
            break;
        }
    }
    expect_end(&mut p)?;
    Ok(Statement::CreateTable {
        name,
        columns,
        computed,
        watermark,
        options,
        at,
    })
}

fn last_part(name: ast::ObjectName) -> ast::Ident {
    name.0
        .into_iter()
        .filter_map(|p| p.as_ident().cloned())
        .next_back()
        .unwrap_or_else(|| ast::Ident::new(""))
}

fn matching_close(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn matching_open(tokens: &[TokenWithSpan], close: usize) -> Option<usize> {
    let mut depth = 0;
    for i in (0..=close).rev() {
        match tokens[i].token {
            Token::RParen => depth += 1,
            Token::LParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

const UNITS: [&str; 4] = ["SECOND", "MINUTE", "HOUR", "DAY"];

/// The token-level rewrites listed at the top of this module.
fn rewrite(mut t: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, SqlError> {
    let mut i = 0;
    while i < t.len() {
        let prev = if i > 0 {
            Some(t[i - 1].token.clone())
        } else {
            None
        };
        let next = t.get(i + 1).map(|x| x.token.clone());
        let cur = t[i].token.clone();
        if is_word(&cur, "STREAM") && prev.as_ref().is_some_and(|p| is_word(p, "SELECT")) {
            t.remove(i);
            continue;
        }
        if (is_word(&cur, "STEP")) && next == Some(Token::LParen) {
            if let Some(close) = matching_close(&t, i + 1) {
                let mut depth = 0;
                for tok in &mut t[i + 1..close] {
                    match tok.token {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ if depth == 1 && is_word(&tok.token, "BY") => {
                            tok.token = Token::Comma;
                        }
                        _ => {}
                    }
                }
            }
        }
        // NTH_VALUE(x, n) FROM FIRST|LAST RESPECT|IGNORE NULL[S]: the
        // clauses become marker arguments, NTH_VALUE(x, n, __FROM_LAST, ...).
        if is_word(&cur, "NTH_VALUE") && next == Some(Token::LParen) {
            if let Some(mut close) = matching_close(&t, i + 1) {
                let clause = |t: &[TokenWithSpan], at: usize| -> Option<&'static str> {
                    let w = |k: usize, s: &str| t.get(at + k).is_some_and(|x| is_word(&x.token, s));
                    if w(0, "FROM") && w(1, "FIRST") {
                        Some("__FROM_FIRST")
                    } else if w(0, "FROM") && w(1, "LAST") {
                        Some("__FROM_LAST")
                    } else if w(0, "RESPECT") && (w(1, "NULLS") || w(1, "NULL")) {
                        Some("__RESPECT_NULLS")
                    } else if w(0, "IGNORE") && (w(1, "NULLS") || w(1, "NULL")) {
                        Some("__IGNORE_NULLS")
                    } else {
                        None
                    }
                };
                while let Some(marker) = clause(&t, close + 1) {
                    let span = t[close + 1].span;
                    t.drain(close + 1..close + 3);
                    t.insert(close, TokenWithSpan::new(Token::Comma, span));
                    t.insert(close + 1, word(marker, span));
                    close += 2;
                }
            }
        }
        if is_word(&cur, "CURSOR") && next == Some(Token::LParen) {
            t.remove(i);
            continue;
        }
        if is_word(&cur, "TABLE")
            && matches!(prev, Some(Token::LParen | Token::Comma | Token::RArrow))
            && matches!(next, Some(Token::Word(_)))
        {
            t.remove(i);
            // Flink's SESSION(TABLE t PARTITION BY k, ...) or
            // PARTITION BY (k1, k2): the keys become `__PARTITION(...)`.
            if t.get(i + 1).is_some_and(|x| is_word(&x.token, "PARTITION"))
                && t.get(i + 2).is_some_and(|x| is_word(&x.token, "BY"))
            {
                let span = t[i + 1].span;
                t.splice(
                    i + 1..i + 3,
                    [
                        TokenWithSpan::new(Token::Comma, span),
                        word("__PARTITION", span),
                    ],
                );
                if t.get(i + 3).map(|x| &x.token) != Some(&Token::LParen) {
                    // One key without parentheses: wrap it.
                    t.insert(i + 3, TokenWithSpan::new(Token::LParen, span));
                    t.insert(
                        (i + 5).min(t.len()),
                        TokenWithSpan::new(Token::RParen, span),
                    );
                }
            }
            continue;
        }
        if matches!(cur, Token::Word(_))
            && prev
                .as_ref()
                .is_some_and(|p| matches!(p, Token::SingleQuotedString(_)))
        {
            let plural = ["SECONDS", "MINUTES", "HOURS", "DAYS"];
            if let Some(k) = plural.iter().position(|p| is_word(&cur, p)) {
                if i >= 2 && is_word(&t[i - 2].token, "INTERVAL") {
                    let span = t[i].span;
                    t[i] = TokenWithSpan::new(Token::make_keyword(UNITS[k]), span);
                }
            }
        }
        if let Some(unit) = UNITS.iter().find(|u| is_word(&cur, u)) {
            if prev == Some(Token::RParen) && next != Some(Token::LParen) {
                if let Some(open) = matching_open(&t, i - 1) {
                    let span = t[i].span;
                    t.remove(i);
                    t.insert(open, word(&format!("__INTERVAL_{unit}"), span));
                    i += 1;
                    continue;
                }
            }
        }
        if is_word(&cur, "WINDOWED") {
            let ok = t.get(i + 1).is_some_and(|x| is_word(&x.token, "BY"))
                && t.get(i + 2).is_some_and(|x| is_word(&x.token, "STAGGER"))
                && t.get(i + 3).is_some_and(|x| x.token == Token::LParen);
            if !ok {
                return Err(unsupported(
                    &t[i],
                    "Expected WINDOWED BY STAGGER (PARTITION BY ... RANGE INTERVAL ...).",
                ));
            }
            let close = matching_close(&t, i + 3).ok_or_else(|| {
                unsupported(&t[i], "WINDOWED BY STAGGER ( has no closing parenthesis.")
            })?;
            let inner: Vec<TokenWithSpan> = t[i + 4..close].to_vec();
            if !(inner.len() > 2
                && is_word(&inner[0].token, "PARTITION")
                && is_word(&inner[1].token, "BY"))
            {
                return Err(unsupported(
                    inner.first().unwrap_or(&t[close]),
                    "A stagger window is STAGGER (PARTITION BY columns RANGE INTERVAL 'n' unit).",
                ));
            }
            let mut depth = 0;
            let range = inner.iter().enumerate().skip(2).find(|(_, x)| {
                match x.token {
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                depth == 0 && is_word(&x.token, "RANGE")
            });
            let Some((r, _)) = range else {
                return Err(unsupported(&t[close], "A stagger window needs RANGE INTERVAL 'n' unit after its PARTITION BY columns."));
            };
            let span = t[i].span;
            let mut replacement = vec![
                TokenWithSpan::new(Token::make_keyword("GROUP"), span),
                TokenWithSpan::new(Token::make_keyword("BY"), span),
                word("__STAGGER", t[i + 2].span),
                TokenWithSpan::new(Token::LParen, t[i + 3].span),
            ];
            replacement.extend(inner[r + 1..].iter().cloned());
            replacement.push(TokenWithSpan::new(Token::Comma, inner[r].span));
            replacement.extend(inner[2..r].iter().cloned());
            replacement.push(t[close].clone());
            t.splice(i..=close, replacement);
            i += 1;
            continue;
        }
        // KDA's stream join: `JOIN s OVER (RANGE INTERVAL 'n' unit
        // PRECEDING)` becomes `JOIN __WINDOWED(s, INTERVAL 'n' unit)`, and
        // `OVER (ROWS n PRECEDING)` `JOIN __WINDOWED_ROWS(s, n)`.
        if is_word(&cur, "JOIN") && t.get(i + 2).is_some_and(|x| is_word(&x.token, "OVER")) {
            let over = i + 2;
            if t.get(over + 1).map(|x| &x.token) != Some(&Token::LParen) {
                return Err(unsupported(
                    &t[over],
                    "A stream join's window is written inline: JOIN s OVER (RANGE INTERVAL 'n' unit PRECEDING).",
                ));
            }
            let close = matching_close(&t, over + 1)
                .ok_or_else(|| unsupported(&t[over], "OVER ( has no closing parenthesis."))?;
            let inner: Vec<TokenWithSpan> = t[over + 2..close].to_vec();
            let ok = inner.len() >= 3 && is_word(&inner[inner.len() - 1].token, "PRECEDING");
            let (func, body) = match inner.first() {
                Some(x) if ok && is_word(&x.token, "RANGE") => ("__WINDOWED", &inner[1..inner.len() - 1]),
                Some(x) if ok && is_word(&x.token, "ROWS") => ("__WINDOWED_ROWS", &inner[1..inner.len() - 1]),
                _ => {
                    return Err(unsupported(
                        inner.first().unwrap_or(&t[close]),
                        "A stream join's window is RANGE INTERVAL 'n' unit PRECEDING or ROWS n PRECEDING.",
                    ))
                }
            };
            let span = t[over].span;
            let mut replacement = vec![
                word(func, span),
                TokenWithSpan::new(Token::LParen, span),
                t[i + 1].clone(),
                TokenWithSpan::new(Token::Comma, span),
            ];
            replacement.extend(body.iter().cloned());
            replacement.push(TokenWithSpan::new(Token::RParen, t[close].span));
            t.splice(i + 1..=close, replacement);
            i += 1;
            continue;
        }
        i += 1;
    }
    Ok(t)
}

impl SqlError {
    /// sqlparser's messages end in ` at Line: L, Column: C`; that becomes
    /// the error's position, and `found: X` its token.
    pub(crate) fn from_parser(e: ParserError) -> SqlError {
        let text = match e {
            ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
            ParserError::RecursionLimitExceeded => {
                return SqlError::at(
                    Location::new(1, 1),
                    None,
                    "The query nests too deeply.".into(),
                )
            }
        };
        let (msg, loc) = match text.rfind(" at Line: ") {
            Some(i) => {
                let loc = &text[i + 10..];
                let (l, c) = loc.split_once(", Column: ").unwrap_or((loc, "0"));
                (
                    text[..i].to_string(),
                    Location::new(l.trim().parse().unwrap_or(0), c.trim().parse().unwrap_or(0)),
                )
            }
            None => (text, Location::new(0, 0)),
        };
        let token = msg.rfind("found: ").map(|i| msg[i + 7..].to_string());
        let plain = msg
            .replace("Expected: ", "expected ")
            .replace(", found: EOF", ", found the end of the statement")
            .replace(", found: ", ", found ");
        SqlError::at(loc, token, format!("Syntax error: {plain}."))
    }
}
