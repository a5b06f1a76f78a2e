//! Cohort counts computed by plain SQL over the relational patient tables: the baseline
//! that `veritrial bench cohort` measures the Tantivy index against.
//!
//! A criteria [`Expr`] compiles into the most natural query,
//! `SELECT COUNT(*) FROM patients p WHERE …`, with
//!
//! - `p.age`, `p.sex` and `p.zip3 IN (…)` predicates on the patient row;
//! - `EXISTS (SELECT 1 FROM patient_codes c WHERE c.pseudonym = p.pseudonym AND c.kind = …
//!   AND c.code = …)` for a code clause;
//! - `EXISTS (SELECT 1 FROM patient_labs l WHERE l.pseudonym = p.pseudonym AND l.code = …
//!   AND l.value …)` for a lab clause;
//! - `AND`, `OR` and `NOT` for the connectives.
//!
//! Every value is a bound parameter (`$n` on PostgreSQL, `?` on SQLite): no text from the
//! criteria is ever spliced into the SQL.
//!
//! A prefix code (`condition = icd10:E11*`) becomes the half-open range
//! `c.code >= 'icd10:E11' AND c.code < 'icd10:E12'` (the prefix and its successor, see
//! [`prefix_successor`]) rather than `LIKE 'icd10:E11%'`: SQLite applies its LIKE
//! optimisation only when LIKE is case-sensitive or the index is `NOCASE`, and PostgreSQL only
//! under the `C` collation or with a `text_pattern_ops` index, so `LIKE` would scan every code
//! row. A range is answered from the `(kind, code, pseudonym)` index by both. The range is
//! exactly the prefix under byte-order collation, which SQLite's default `BINARY` collation
//! is, and PostgreSQL's `C`/`C.UTF-8` too (UTF-8 byte order is code point order); the
//! benchmark checks its counts against the index, which would reveal a linguistic collation.
//!
//! Ages are whole years, so an age comparison is turned into an equivalent comparison with an
//! integer (`age >= 39.5` is `age >= 40`): the bound then has the column's type and
//! PostgreSQL can use `idx_patients_age_sex`.

use matcher::criteria::{Clause, Cmp, Expr};
use matcher::normalise_code;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::error::{AppError, AppResult};

/// Integer age bounds are clamped to this magnitude: far beyond any stored age (0 to 90),
/// so clamping never changes a result, and well inside `i32`.
const AGE_LIMIT: f64 = 100_000.0;

/// The `SELECT COUNT(*)` statement counting the patients that match `expr` on `backend`.
pub fn count_statement(expr: &Expr, backend: DbBackend) -> Statement {
    let mut compiler = Compiler {
        backend,
        values: Vec::new(),
    };
    let condition = compiler.expr(expr);
    Statement::from_sql_and_values(
        backend,
        format!("SELECT COUNT(*) FROM patients p WHERE {condition}"),
        compiler.values,
    )
}

/// Counts the stored patients matching `expr` with one SQL query.
pub async fn count(db: &impl ConnectionTrait, expr: &Expr) -> AppResult<u64> {
    let statement = count_statement(expr, db.get_database_backend());
    let row = db
        .query_one_raw(statement)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("COUNT(*) returned no row")))?;
    let n: i64 = row.try_get_by_index(0)?;
    Ok(u64::try_from(n).map_err(anyhow::Error::from)?)
}

/// The smallest string greater than every string that starts with `prefix`, in code point
/// (and so UTF-8 byte) order: the last character that can be incremented is, and what
/// follows it is dropped (`icd10:E11` gives `icd10:E12`). `None` when there is no such
/// string (empty prefix, or only `char::MAX`).
pub fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Builds the `WHERE` condition and collects its bound values in order.
struct Compiler {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Compiler {
    /// Binds `value` and returns its placeholder.
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_string(),
        }
    }

    fn expr(&mut self, expr: &Expr) -> String {
        match expr {
            Expr::And(items) => self.connective(items, " AND ", "(1 = 1)"),
            Expr::Or(items) => self.connective(items, " OR ", "(1 = 0)"),
            Expr::Not(inner) => format!("NOT {}", self.expr(inner)),
            Expr::Clause(clause) => self.clause(clause),
        }
    }

    /// `(a OP b OP …)`, or `empty` for no operand.
    fn connective(&mut self, items: &[Expr], op: &str, empty: &str) -> String {
        if items.is_empty() {
            return empty.to_string();
        }
        let parts: Vec<String> = items.iter().map(|item| self.expr(item)).collect();
        format!("({})", parts.join(op))
    }

    fn clause(&mut self, clause: &Clause) -> String {
        match clause {
            Clause::Age(cmp) => self.age(*cmp),
            Clause::Sex(sex) => format!("p.sex = {}", self.bind(sex.as_str())),
            Clause::Zip3In(zips) if zips.is_empty() => "(1 = 0)".to_string(),
            Clause::Zip3In(zips) => {
                let list: Vec<String> = zips.iter().map(|z| self.bind(z.as_str())).collect();
                format!("p.zip3 IN ({})", list.join(", "))
            }
            Clause::Code {
                field,
                code,
                prefix,
            } => {
                let kind = self.bind(field.keyword());
                let code = normalise_code(code);
                let test = if *prefix {
                    let low = format!("c.code >= {}", self.bind(code.as_str()));
                    match prefix_successor(&code) {
                        Some(high) => format!("{low} AND c.code < {}", self.bind(high)),
                        None => low,
                    }
                } else {
                    format!("c.code = {}", self.bind(code))
                };
                format!(
                    "EXISTS (SELECT 1 FROM patient_codes c WHERE c.pseudonym = p.pseudonym \
                     AND c.kind = {kind} AND {test})"
                )
            }
            Clause::Lab { code, cmp } => {
                let code = self.bind(normalise_code(code));
                let test = match self.lab_value(*cmp) {
                    Some(test) => test,
                    None => return "(1 = 0)".to_string(),
                };
                format!(
                    "EXISTS (SELECT 1 FROM patient_labs l WHERE l.pseudonym = p.pseudonym \
                     AND l.code = {code}{test})"
                )
            }
        }
    }

    /// ` AND l.value …` for `cmp` (empty when every value satisfies it), or `None` when no
    /// value can. NaN operands are decided here, as [`Cmp::test`] decides them, because
    /// SQLite stores a bound NaN as NULL.
    fn lab_value(&mut self, cmp: Cmp) -> Option<String> {
        let (op, x) = match cmp {
            Cmp::Between(lo, hi) if lo.is_nan() || hi.is_nan() => return None,
            Cmp::Between(lo, hi) => {
                return Some(format!(
                    " AND l.value BETWEEN {} AND {}",
                    self.bind(lo),
                    self.bind(hi)
                ));
            }
            Cmp::Ne(x) if x.is_nan() => return Some(String::new()),
            Cmp::Eq(x) => ("=", x),
            Cmp::Ne(x) => ("<>", x),
            Cmp::Lt(x) => ("<", x),
            Cmp::Le(x) => ("<=", x),
            Cmp::Gt(x) => (">", x),
            Cmp::Ge(x) => (">=", x),
        };
        if x.is_nan() {
            return None;
        }
        Some(format!(" AND l.value {op} {}", self.bind(x)))
    }

    /// The age comparison with whole-year bounds (ages are integers).
    fn age(&mut self, cmp: Cmp) -> String {
        let whole = |x: f64| x.fract() == 0.0;
        let floor = |x: f64| x.floor().clamp(-AGE_LIMIT, AGE_LIMIT) as i32;
        let ceil = |x: f64| x.ceil().clamp(-AGE_LIMIT, AGE_LIMIT) as i32;
        let (op, bound) = match cmp {
            Cmp::Ne(x) if x.is_nan() || !whole(x) => return "(1 = 1)".to_string(),
            Cmp::Between(lo, hi) if lo.is_nan() || hi.is_nan() => return "(1 = 0)".to_string(),
            Cmp::Eq(x) | Cmp::Lt(x) | Cmp::Le(x) | Cmp::Gt(x) | Cmp::Ge(x) if x.is_nan() => {
                return "(1 = 0)".to_string();
            }
            Cmp::Eq(x) if !whole(x) => return "(1 = 0)".to_string(),
            Cmp::Between(lo, hi) => {
                return format!(
                    "p.age BETWEEN {} AND {}",
                    self.bind(ceil(lo)),
                    self.bind(floor(hi))
                );
            }
            Cmp::Eq(x) => ("=", floor(x)),
            Cmp::Ne(x) => ("<>", floor(x)),
            Cmp::Lt(x) => ("<", ceil(x)),
            Cmp::Le(x) => ("<=", floor(x)),
            Cmp::Gt(x) => (">", floor(x)),
            Cmp::Ge(x) => (">=", ceil(x)),
        };
        format!("p.age {op} {}", self.bind(bound))
    }
}

#[cfg(test)]
mod tests {
    use matcher::criteria::parse;
    use matcher::eval::matches;
    use matcher::profile::Profile;
    use matcher::synth;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use sea_orm::TransactionTrait;

    use super::*;
    use crate::db::{self, DatabaseTarget};
    use crate::services::patients::store_profile;

    fn sql(text: &str, backend: DbBackend) -> (String, Vec<Value>) {
        let statement = count_statement(&parse(text).unwrap(), backend);
        (statement.sql, statement.values.unwrap().0)
    }

    #[test]
    fn compiles_clauses_into_natural_sql() {
        let (text, values) = sql(
            "age between 40 and 75 and sex = female and zip3 in (021, 100)",
            DbBackend::Sqlite,
        );
        assert_eq!(
            text,
            "SELECT COUNT(*) FROM patients p WHERE (p.age BETWEEN ? AND ? AND p.sex = ? \
             AND p.zip3 IN (?, ?))"
        );
        assert_eq!(
            values,
            vec![
                Value::from(40),
                Value::from(75),
                Value::from("female"),
                Value::from("021"),
                Value::from("100")
            ]
        );
    }

    #[test]
    fn prefix_codes_become_index_ranges_with_numbered_postgres_placeholders() {
        let (text, values) = sql(
            "condition = icd10:e11* and not (medication = atc:A10BA02 or lab loinc:4548-4 > 7.5)",
            DbBackend::Postgres,
        );
        assert_eq!(
            text,
            "SELECT COUNT(*) FROM patients p WHERE (EXISTS (SELECT 1 FROM patient_codes c \
             WHERE c.pseudonym = p.pseudonym AND c.kind = $1 AND c.code >= $2 AND c.code < $3) \
             AND NOT (EXISTS (SELECT 1 FROM patient_codes c WHERE c.pseudonym = p.pseudonym \
             AND c.kind = $4 AND c.code = $5) OR EXISTS (SELECT 1 FROM patient_labs l \
             WHERE l.pseudonym = p.pseudonym AND l.code = $6 AND l.value > $7)))"
        );
        assert_eq!(
            values,
            vec![
                Value::from("condition"),
                Value::from("icd10:E11"),
                Value::from("icd10:E12"),
                Value::from("medication"),
                Value::from("atc:A10BA02"),
                Value::from("loinc:4548-4"),
                Value::from(7.5),
            ]
        );
    }

    #[test]
    fn fractional_ages_become_whole_year_bounds() {
        let (text, values) = sql("age >= 39.5 and age < 60.5", DbBackend::Sqlite);
        assert!(text.ends_with("(p.age >= ? AND p.age < ?)"), "{text}");
        assert_eq!(values, vec![Value::from(40), Value::from(61)]);
        let (text, values) = sql("age = 40.5", DbBackend::Sqlite);
        assert!(text.ends_with("WHERE (1 = 0)"), "{text}");
        assert!(values.is_empty());
    }

    #[test]
    fn prefix_successors() {
        assert_eq!(prefix_successor("icd10:E11").as_deref(), Some("icd10:E12"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor(""), None);
    }

    /// A random criteria expression over values that the synthetic population often hits.
    fn random_expr(rng: &mut StdRng, depth: u32) -> String {
        const CODES: &[&str] = &[
            "condition = icd10:E11*",
            "condition = icd10:E11.9",
            "condition = icd10:E1*",
            "condition = icd10:N18*",
            "condition = icd10:I10",
            "condition = snomed:44054006",
            "medication = atc:A10BA02",
            "medication = atc:C10*",
            "medication = rxnorm:860975",
            "procedure = snomed:7*",
            "lab loinc:4548-4 between 7.0 and 10.0",
            "lab loinc:4548-4 >= 6.5",
            "lab loinc:2160-0 < 1.2",
            "lab loinc:33914-3 <= 60",
            "lab loinc:13457-7 != 3.0",
            "lab loinc:718-7 = 13.5",
            "sex = female",
            "sex = male",
            "age between 40 and 75",
            "age >= 65.5",
            "age < 18",
            "age != 90",
            "zip3 in (100, 021, 606)",
        ];
        if depth == 0 || rng.random_bool(0.4) {
            return CODES[rng.random_range(0..CODES.len())].to_string();
        }
        let n = rng.random_range(1..=3);
        let parts: Vec<String> = (0..n).map(|_| random_expr(rng, depth - 1)).collect();
        match rng.random_range(0..3) {
            0 => format!("({})", parts.join(" and ")),
            1 => format!("({})", parts.join(" or ")),
            _ => format!("not ({})", parts.join(" and ")),
        }
    }

    #[tokio::test]
    async fn sql_counts_equal_brute_force_on_synthetic_populations() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut criteria = vec![
            "age between 40 and 75 and sex = female and condition = icd10:E11* \
             and lab loinc:4548-4 between 7.0 and 10.0 and not condition = icd10:N18* \
             and medication = atc:A10BA02"
                .to_string(),
        ];
        criteria.extend((0..60).map(|_| random_expr(&mut rng, 3)));
        for seed in [1, 2, 3] {
            let tmp = tempfile::tempdir().unwrap();
            let target = DatabaseTarget::Sqlite(tmp.path().join("cohort.sqlite"));
            let db = db::connect(&target, 1).await.unwrap();
            db::migrate(&db).await.unwrap();
            let profiles: Vec<Profile> =
                synth::profiles(seed, 300, &["site-a", "site-b"]).collect();
            let txn = db.begin().await.unwrap();
            for profile in &profiles {
                store_profile(&txn, profile).await.unwrap();
            }
            txn.commit().await.unwrap();
            let mut nonzero = 0;
            for text in &criteria {
                let expr = parse(text).unwrap();
                let expected = profiles.iter().filter(|p| matches(&expr, p)).count() as u64;
                let got = count(&db, &expr).await.unwrap();
                assert_eq!(got, expected, "seed {seed}: {text}");
                nonzero += usize::from(expected > 0);
            }
            assert!(
                nonzero > criteria.len() / 2,
                "too few criteria hit anything"
            );
        }
    }
}
