//! Hand-written recursive-descent parser for criteria text.

use super::ast::{Clause, Cmp, CodeField, Expr};
use super::error::{ParseError, SyntaxError};
use super::lexer::{Token, TokenKind, tokenize};
use super::limits::{MAX_DEPTH, check_clauses, check_length};
use crate::codes::normalise_code;
use crate::profile::Sex;

/// Parses criteria text into an [`Expr`]. See the crate documentation for the grammar.
///
/// Text over the limits of [`super::limits`] is refused before (or, for nesting, while) it is
/// parsed; the work done is linear in the length of the text.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    check_length(input)?;
    let tokens = tokenize(input);
    check_clauses(&tokens)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.or_expr()?;
    let tok = parser.peek();
    if tok.kind != TokenKind::Eof {
        return Err(parser.error("\"and\", \"or\" or end of input"));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with Eof and `pos` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let tok = self.peek().clone();
        if tok.kind != TokenKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn error(&self, expected: &str) -> ParseError {
        let tok = self.peek();
        ParseError::Syntax(SyntaxError {
            line: tok.line,
            column: tok.column,
            expected: expected.to_string(),
            found: tok.describe(),
        })
    }

    fn eat_word(&mut self, keyword: &str) -> bool {
        if self.peek().is_word(keyword) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, keyword: &str) -> Result<(), ParseError> {
        if self.eat_word(keyword) {
            Ok(())
        } else {
            Err(self.error(&format!("{keyword:?}")))
        }
    }

    fn expect_kind(&mut self, kind: TokenKind, what: &str) -> Result<Token, ParseError> {
        if self.peek().kind == kind {
            Ok(self.next())
        } else {
            Err(self.error(what))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let tok = self.peek();
            Err(ParseError::TooDeep {
                line: tok.line,
                column: tok.column,
            })
        } else {
            Ok(())
        }
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and_expr()?];
        while self.eat_word("or") {
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.eat_word("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek().is_word("not") {
            self.enter()?;
            self.pos += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek().kind == TokenKind::LParen {
            self.enter()?;
            self.pos += 1;
            let inner = self.or_expr()?;
            self.expect_kind(TokenKind::RParen, "\"and\", \"or\" or \")\"")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.clause().map(Expr::Clause)
    }

    fn clause(&mut self) -> Result<Clause, ParseError> {
        const EXPECTED: &str = "a criterion (age, sex, condition, medication, procedure, lab, \
                                zip3), \"not\" or \"(\"";
        let tok = self.peek();
        if tok.kind != TokenKind::Word {
            return Err(self.error(EXPECTED));
        }
        let keyword = tok.text.to_ascii_lowercase();
        let field = match keyword.as_str() {
            "age" => {
                self.pos += 1;
                return Ok(Clause::Age(self.cmp()?));
            }
            "sex" => {
                self.pos += 1;
                self.expect_op("=")?;
                let tok = self.peek();
                let sex = (tok.kind == TokenKind::Word)
                    .then(|| Sex::from_keyword(&tok.text))
                    .flatten()
                    .ok_or_else(|| self.error("female, male, other or unknown"))?;
                self.pos += 1;
                return Ok(Clause::Sex(sex));
            }
            "lab" => {
                self.pos += 1;
                let (code, prefix) = self.code("a lab code such as loinc:4548-4")?;
                if prefix {
                    self.pos -= 1;
                    return Err(self.error("a lab code without \"*\""));
                }
                let cmp = self.cmp()?;
                return Ok(Clause::Lab { code, cmp });
            }
            "zip3" => {
                self.pos += 1;
                return self.zip3();
            }
            "condition" => CodeField::Condition,
            "medication" => CodeField::Medication,
            "procedure" => CodeField::Procedure,
            _ => return Err(self.error(EXPECTED)),
        };
        self.pos += 1;
        self.expect_op("=")?;
        let (code, prefix) = self.code("a code such as icd10:E11.9 or atc:A10BA02")?;
        Ok(Clause::Code {
            field,
            code,
            prefix,
        })
    }

    fn expect_op(&mut self, op: &str) -> Result<(), ParseError> {
        let tok = self.peek();
        if tok.kind == TokenKind::Op && tok.text == op {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("{op:?}")))
        }
    }

    fn code(&mut self, what: &str) -> Result<(String, bool), ParseError> {
        let tok = self.peek();
        let TokenKind::Code { prefix } = tok.kind else {
            return Err(self.error(what));
        };
        if tok.text.ends_with(':') {
            return Err(self.error(what));
        }
        let code = normalise_code(&tok.text);
        self.pos += 1;
        Ok((code, prefix))
    }

    fn number(&mut self) -> Result<f64, ParseError> {
        let tok = self.peek();
        if tok.kind != TokenKind::Number {
            return Err(self.error("a number"));
        }
        match tok.text.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.error("a finite number")),
        }
    }

    fn cmp(&mut self) -> Result<Cmp, ParseError> {
        if self.eat_word("between") {
            let lo = self.number()?;
            self.expect_word("and")?;
            let hi = self.number()?;
            return Ok(Cmp::Between(lo, hi));
        }
        let tok = self.peek();
        if tok.kind != TokenKind::Op {
            return Err(self.error("a comparison operator or \"between\""));
        }
        let make: fn(f64) -> Cmp = match tok.text.as_str() {
            "=" => Cmp::Eq,
            "!=" => Cmp::Ne,
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            _ => return Err(self.error("a comparison operator")),
        };
        self.pos += 1;
        Ok(make(self.number()?))
    }

    fn zip3(&mut self) -> Result<Clause, ParseError> {
        self.expect_word("in")?;
        self.expect_kind(TokenKind::LParen, "\"(\"")?;
        let mut zips = Vec::new();
        loop {
            let tok = self.peek();
            let valid = tok.kind == TokenKind::Number
                && tok.text.len() == 3
                && tok.text.bytes().all(|b| b.is_ascii_digit());
            if !valid {
                return Err(self.error("a three-digit ZIP prefix such as 021"));
            }
            zips.push(tok.text.clone());
            self.pos += 1;
            if self.peek().kind == TokenKind::Comma {
                self.pos += 1;
            } else {
                self.expect_kind(TokenKind::RParen, "\",\" or \")\"")?;
                return Ok(Clause::Zip3In(zips));
            }
        }
    }
}
