//! Canonical text form of criteria (re-parses to the same AST).

use std::fmt::{self, Display, Formatter};

use super::ast::{Clause, Cmp, Expr};

impl Display for Cmp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Cmp::Eq(x) => write!(f, "= {x}"),
            Cmp::Ne(x) => write!(f, "!= {x}"),
            Cmp::Lt(x) => write!(f, "< {x}"),
            Cmp::Le(x) => write!(f, "<= {x}"),
            Cmp::Gt(x) => write!(f, "> {x}"),
            Cmp::Ge(x) => write!(f, ">= {x}"),
            Cmp::Between(lo, hi) => write!(f, "between {lo} and {hi}"),
        }
    }
}

impl Display for Clause {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Clause::Age(cmp) => write!(f, "age {cmp}"),
            Clause::Sex(sex) => write!(f, "sex = {sex}"),
            Clause::Code {
                field,
                code,
                prefix,
            } => {
                write!(f, "{} = {code}", field.keyword())?;
                if *prefix {
                    f.write_str("*")?;
                }
                Ok(())
            }
            Clause::Lab { code, cmp } => write!(f, "lab {code} {cmp}"),
            Clause::Zip3In(zips) => write!(f, "zip3 in ({})", zips.join(", ")),
        }
    }
}

impl Display for Expr {
    /// Prints canonical criteria text: lower-case keywords, single spaces, parentheses only
    /// where needed to keep the tree shape. For any expression produced by
    /// [`crate::criteria::parse`], the output parses back to an equal AST.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match transparent(self) {
            Expr::Clause(c) => write!(f, "{c}"),
            Expr::Not(inner) => {
                f.write_str("not ")?;
                match transparent(inner) {
                    inner @ (Expr::And(_) | Expr::Or(_)) => write!(f, "({inner})"),
                    inner => write!(f, "{inner}"),
                }
            }
            Expr::And(items) => join(f, items, " and ", |e| {
                matches!(e, Expr::And(_) | Expr::Or(_))
            }),
            Expr::Or(items) => join(f, items, " or ", |e| matches!(e, Expr::Or(_))),
        }
    }
}

fn join(
    f: &mut Formatter<'_>,
    items: &[Expr],
    sep: &str,
    needs_parens: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        let item = transparent(item);
        if needs_parens(item) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

/// Skips `and`/`or` nodes with a single operand, which print as that operand.
fn transparent(mut e: &Expr) -> &Expr {
    while let Expr::And(items) | Expr::Or(items) = e {
        match items.as_slice() {
            [only] => e = only,
            _ => break,
        }
    }
    e
}
