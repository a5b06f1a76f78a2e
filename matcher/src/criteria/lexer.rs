//! Tokeniser for criteria text. Never fails: unknown characters become
//! [`TokenKind::Invalid`] tokens, which the parser reports with their position.

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// A bare word: keyword or sex value (`age`, `and`, `female`, …).
    Word,
    /// A `system:code` value, with a trailing `*` when `prefix`.
    Code {
        /// Whether the code ended with `*`.
        prefix: bool,
    },
    /// A number, possibly negative, possibly with a fractional part.
    Number,
    /// A run of operator characters (`=`, `!`, `<`, `>`), e.g. `>=` or `==`.
    Op,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// Any other character.
    Invalid,
    /// End of input.
    Eof,
}

/// A token with its source text and 1-based position.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: TokenKind,
    /// The source text (without the trailing `*` for codes).
    pub text: String,
    pub line: usize,
    pub column: usize,
}

impl Token {
    /// Human description for error messages: the quoted text, or `end of input`.
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Code { prefix: true } => format!("{:?}", format!("{}*", self.text)),
            _ => format!("{:?}", self.text),
        }
    }

    /// Whether this is the given keyword (case-insensitive).
    pub fn is_word(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }
}

const OP_CHARS: &[char] = &['=', '!', '<', '>'];

fn is_code_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn take_while(&mut self, text: &mut String, pred: impl Fn(char) -> bool) {
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            text.push(c);
            self.bump();
        }
    }
}

/// Splits `input` into tokens, always ending with an [`TokenKind::Eof`] token.
pub(crate) fn tokenize(input: &str) -> Vec<Token> {
    let mut cur = Cursor {
        chars: input.chars().peekable(),
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    loop {
        while cur.peek().is_some_and(char::is_whitespace) {
            cur.bump();
        }
        let (line, column) = (cur.line, cur.column);
        let Some(c) = cur.bump() else {
            tokens.push(Token {
                kind: TokenKind::Eof,
                text: String::new(),
                line,
                column,
            });
            return tokens;
        };
        let mut text = String::from(c);
        let kind = if c.is_ascii_alphabetic() || c == '_' {
            cur.take_while(&mut text, |c| c.is_ascii_alphanumeric() || c == '_');
            if cur.peek() == Some(':') {
                cur.bump();
                text.push(':');
                cur.take_while(&mut text, is_code_char);
                let prefix = cur.peek() == Some('*');
                if prefix {
                    cur.bump();
                }
                TokenKind::Code { prefix }
            } else {
                TokenKind::Word
            }
        } else if c.is_ascii_digit() || (c == '-' && cur.peek().is_some_and(|d| d.is_ascii_digit()))
        {
            cur.take_while(&mut text, |c| c.is_ascii_digit());
            if cur.peek() == Some('.') {
                cur.bump();
                text.push('.');
                cur.take_while(&mut text, |c| c.is_ascii_digit());
            }
            TokenKind::Number
        } else if OP_CHARS.contains(&c) {
            cur.take_while(&mut text, |c| OP_CHARS.contains(&c));
            TokenKind::Op
        } else {
            match c {
                '(' => TokenKind::LParen,
                ')' => TokenKind::RParen,
                ',' => TokenKind::Comma,
                _ => TokenKind::Invalid,
            }
        };
        tokens.push(Token {
            kind,
            text,
            line,
            column,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_positions_and_kinds() {
        let toks = tokenize("age >= 18\n and condition = icd10:E11*");
        let kinds: Vec<_> = toks.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Word,
                TokenKind::Op,
                TokenKind::Number,
                TokenKind::Word,
                TokenKind::Word,
                TokenKind::Op,
                TokenKind::Code { prefix: true },
                TokenKind::Eof
            ]
        );
        assert_eq!((toks[3].line, toks[3].column), (2, 2));
        assert_eq!(toks[6].text, "icd10:E11");
    }
}
