use proptest::prelude::*;

use super::*;

fn my(sql: &str) -> String {
    fingerprint(sql, Options::new(Dialect::MySql))
}

fn pg(sql: &str) -> String {
    fingerprint(sql, Options::new(Dialect::Postgres))
}

#[test]
fn literals_become_placeholders() {
    assert_eq!(
        my("SELECT * FROM t WHERE a = 1 AND b = 'x'"),
        "select * from t where a = ? and b = ?"
    );
    assert_eq!(
        my("select 1.5e-3, .5, -7, 0x1F, x'ab', b'01', 0b101"),
        "select ?, ?, ?, ?, ?, ?, ?"
    );
    assert_eq!(my("select 'O''Brien', 'it\\'s', \"dq\""), "select ?, ?, ?");
    assert_eq!(
        pg("select E'a\\'b', $tag$ x'y $tag$, $$z$$, U&'d'"),
        "select ?, ?, ?, ?"
    );
    assert_eq!(
        pg("select * from t where id = $1 and b = $2"),
        "select * from t where id = ? and b = ?"
    );
}

#[test]
fn identifiers_with_digits_stay() {
    assert_eq!(
        my("select c1 from tbl_2024 where t2.x3 = 4"),
        "select c1 from tbl_2024 where t2.x3 = ?"
    );
    assert_eq!(my("select * from 2024_orders"), "select * from 2024_orders");
}

#[test]
fn quoted_identifiers_keep_text() {
    assert_eq!(
        my("SELECT `Order`.`ID` FROM `Order`"),
        "select `Order`.`ID` from `Order`"
    );
    assert_eq!(
        pg(r#"SELECT "App_User"."id" FROM "App_User" WHERE "App_User"."name" = 'bob'"#),
        r#"select "App_User"."id" from "App_User" where "App_User"."name" = ?"#
    );
    let ansi = Options {
        dialect: Dialect::MySql,
        ansi_quotes: true,
    };
    assert_eq!(
        fingerprint(r#"select "a" from "T""#, ansi),
        r#"select "a" from "T""#
    );
}

#[test]
fn null_and_booleans_only_as_values() {
    assert_eq!(
        my("update t set a = NULL, b = TRUE where c IS NULL and d is not null"),
        "update t set a = ?, b = ? where c is null and d is not null"
    );
    assert_eq!(
        my("create table t (a int not null default false)"),
        "create table t (a int not null default ?)"
    );
}

#[test]
fn lists_fold() {
    assert_eq!(
        my("select * from t where id in (1, 2, 3)"),
        "select * from t where id in(?+)"
    );
    assert_eq!(
        my("select * from t where id IN ( 7 )"),
        "select * from t where id in(?+)"
    );
    assert_eq!(
        my("select * from t where id in (select id from u)"),
        "select * from t where id in (select id from u)"
    );
    assert_eq!(
        my("insert into t (a, b) values (1, 'x'), (2, 'y'),(3,'z')"),
        "insert into t (a, b) values(?+)"
    );
    assert_eq!(
        my("insert into t (a, b) values (1, now()), (2, now())"),
        my("insert into t (a, b) values (5, now())")
    );
    assert_eq!(
        my("insert into t values (1, now()), (2, 3)"),
        "insert into t values (?, now()), (?+)"
    );
    assert_eq!(
        pg("select * from t where id = any(array[1, 2, 3])"),
        "select * from t where id = any(array[?+])"
    );
}

#[test]
fn limit_folds() {
    assert_eq!(my("select a from t limit 10"), "select a from t limit ?");
    assert_eq!(
        my("select a from t limit 10, 20"),
        "select a from t limit ?"
    );
    assert_eq!(
        my("select a from t LIMIT 10 OFFSET 20"),
        "select a from t limit ?"
    );
    assert_eq!(
        my("select a from t limit 5 offset @x"),
        "select a from t limit ? offset @x"
    );
}

#[test]
fn comments_and_hints_are_dropped() {
    assert_eq!(
        my("select /*+ MAX_EXECUTION_TIME(1000) */ a -- trailing\n from t # hash\n"),
        "select a from t"
    );
    assert_eq!(
        my("select /*!40001 SQL_NO_CACHE */ a from t"),
        "select a from t"
    );
    assert_eq!(
        pg("select /* outer /* nested */ still */ a from t"),
        "select a from t"
    );
    // `#` is an operator in PostgreSQL.
    assert_eq!(pg("select a # b from t"), "select a # b from t");
}

#[test]
fn signs_and_operators() {
    assert_eq!(
        my("select a - b, a-1, -1, a = -2.5"),
        "select a - b, a-?, ?, a = ?"
    );
    assert_eq!(
        my("select * from t where a between -1 and +2"),
        "select * from t where a between ? and ?"
    );
}

#[test]
fn order_by_asc_dropped() {
    assert_eq!(
        my("select a from t order by a ASC, b desc"),
        "select a from t order by a, b desc"
    );
}

#[test]
fn special_statements() {
    assert_eq!(my("use mydb"), "use ?");
    assert_eq!(my("CALL my_proc(1, 'a')"), "call my_proc");
    assert_eq!(
        my("administrator command: Quit;"),
        "administrator command: Quit"
    );
    assert_eq!(my("select 1;  "), "select ?");
}

#[test]
fn class_id_is_upper_hex_md5() {
    // md5("select ?") computed independently with `printf 'select ?' | md5sum`.
    let id = ClassId::of(b"select ?").to_string();
    assert_eq!(id.len(), 34);
    assert!(id.starts_with("0x"));
    assert_eq!(id, id.to_uppercase().replacen("0X", "0x", 1));
    assert_eq!(
        ClassId::of(b"select ?"),
        ClassId::of(my("SELECT 42").as_bytes())
    );
    assert_ne!(ClassId::of(b"select ?"), ClassId::of(b"select ?, ?"));
}

#[test]
fn unterminated_input_does_not_panic() {
    for s in [
        "select 'abc",
        "select \"abc",
        "select /* x",
        "select $a$ x",
        "select `x",
        "select (",
        "select )))",
        "$",
        "-",
        "0x",
        "e'",
        "U&",
    ] {
        let _ = my(s);
        let _ = pg(s);
    }
}

// ---- property tests ----

/// A small statement grammar: each statement is a list of tokens, so that variants can
/// be re-spaced, re-cased and re-literaled without changing its shape.
#[derive(Debug, Clone)]
enum T {
    Kw(&'static str),
    Ident(String),
    Int(i64),
    Str(String),
    Punct(&'static str),
    InList(Vec<i64>),
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "in" | "is"
                | "or"
                | "on"
                | "as"
                | "by"
                | "to"
                | "do"
                | "not"
                | "and"
                | "asc"
                | "null"
                | "true"
                | "false"
                | "limit"
                | "offset"
                | "values"
                | "value"
                | "order"
                | "array"
                | "use"
                | "call"
                | "desc"
        )
    })
}

fn statement() -> impl Strategy<Value = Vec<T>> {
    (
        prop::collection::vec(ident(), 1..4),
        ident(),
        prop::collection::vec((ident(), any::<bool>(), any::<i64>(), "[ -~]{0,6}"), 1..4),
        prop::option::of((ident(), prop::collection::vec(any::<i64>(), 1..6))),
        prop::option::of(0u32..1000),
    )
        .prop_map(|(cols, table, preds, inlist, limit)| {
            let mut t = vec![T::Kw("select")];
            for (i, c) in cols.into_iter().enumerate() {
                if i > 0 {
                    t.push(T::Punct(","));
                }
                t.push(T::Ident(c));
            }
            t.push(T::Kw("from"));
            t.push(T::Ident(table));
            t.push(T::Kw("where"));
            for (i, (col, is_str, n, s)) in preds.into_iter().enumerate() {
                if i > 0 {
                    t.push(T::Kw("and"));
                }
                t.push(T::Ident(col));
                t.push(T::Punct("="));
                t.push(if is_str { T::Str(s) } else { T::Int(n) });
            }
            if let Some((col, items)) = inlist {
                t.push(T::Kw("and"));
                t.push(T::Ident(col));
                t.push(T::Kw("in"));
                t.push(T::InList(items));
            }
            if let Some(l) = limit {
                t.push(T::Kw("limit"));
                t.push(T::Int(i64::from(l)));
            }
            t
        })
}

#[derive(Debug, Clone)]
struct Variant {
    spaces: Vec<&'static str>,
    upper: Vec<bool>,
    lit_seed: i64,
}

fn variant() -> impl Strategy<Value = Variant> {
    (
        prop::collection::vec(
            prop::sample::select(vec![" ", "  ", "\n", "\t", " \n  ", " /* c */ "]),
            64,
        ),
        prop::collection::vec(any::<bool>(), 64),
        any::<i64>(),
    )
        .prop_map(|(spaces, upper, lit_seed)| Variant {
            spaces,
            upper,
            lit_seed,
        })
}

fn render(toks: &[T], v: &Variant) -> String {
    let mut s = String::new();
    for (i, t) in toks.iter().enumerate() {
        if i > 0 {
            s.push_str(v.spaces[i % v.spaces.len()]);
        }
        let up = v.upper[i % v.upper.len()];
        let case = |w: &str| if up { w.to_uppercase() } else { w.to_string() };
        match t {
            T::Kw(k) => s.push_str(&case(k)),
            T::Ident(id) => s.push_str(&case(id)),
            T::Int(n) => s.push_str(&n.wrapping_add(v.lit_seed).to_string()),
            T::Str(x) => {
                let body = format!("{x}{}", v.lit_seed)
                    .replace('\\', "\\\\")
                    .replace('\'', "''");
                s.push('\'');
                s.push_str(&body);
                s.push('\'');
            }
            T::Punct(p) => s.push_str(p),
            T::InList(items) => {
                let n = 1 + (v.lit_seed.unsigned_abs() % 7) as usize;
                let list: Vec<String> = items
                    .iter()
                    .cycle()
                    .take(n)
                    .map(|x| x.wrapping_add(v.lit_seed).to_string())
                    .collect();
                s.push('(');
                s.push_str(&list.join(if up { " , " } else { "," }));
                s.push(')');
            }
        }
    }
    s
}

proptest! {
    #[test]
    fn variants_share_the_fingerprint(toks in statement(), a in variant(), b in variant()) {
        let (sa, sb) = (render(&toks, &a), render(&toks, &b));
        for d in [Dialect::MySql, Dialect::Postgres] {
            prop_assert_eq!(fingerprint(&sa, Options::new(d)), fingerprint(&sb, Options::new(d)), "{} vs {}", sa, sb);
        }
    }

    #[test]
    fn different_shapes_differ(toks in statement(), v in variant(), other in ident(), pick in any::<prop::sample::Index>()) {
        let idents: Vec<usize> = toks.iter().enumerate().filter(|(_, t)| matches!(t, T::Ident(_))).map(|(i, _)| i).collect();
        let at = idents[pick.index(idents.len())];
        let T::Ident(old) = &toks[at] else { unreachable!() };
        prop_assume!(!old.eq_ignore_ascii_case(&other));
        let mut changed = toks.clone();
        changed[at] = T::Ident(other);
        let (sa, sb) = (render(&toks, &v), render(&changed, &v));
        prop_assert_ne!(my(&sa), my(&sb));
        prop_assert_ne!(pg(&sa), pg(&sb));
        // A changed predicate operator changes the shape too.
        if let Some(eq) = toks.iter().position(|t| matches!(t, T::Punct("="))) {
            let mut op = toks.clone();
            op[eq] = T::Punct("<>");
            prop_assert_ne!(my(&sa), my(&render(&op, &v)));
        }
    }

    #[test]
    fn never_panics_and_is_idempotent_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut f = Fingerprinter::default();
        for d in [Dialect::MySql, Dialect::Postgres] {
            let out = f.fingerprint(&bytes, Options::new(d)).to_vec();
            prop_assert!(out.first().is_none_or(|b| !b.is_ascii_whitespace()));
            prop_assert!(out.last().is_none_or(|b| !b.is_ascii_whitespace()));
        }
    }

    #[test]
    fn fingerprint_is_a_fixed_point_on_sql_text(toks in statement(), v in variant()) {
        let s = render(&toks, &v);
        for d in [Dialect::MySql, Dialect::Postgres] {
            let once = fingerprint(&s, Options::new(d));
            prop_assert_eq!(fingerprint(&once, Options::new(d)), once.clone());
        }
    }
}
