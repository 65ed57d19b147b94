//! Compiles a spec `pattern` into pieces that `nyra_api::rt::Pattern` matches without a regex
//! engine; refuses every pattern whose meaning it cannot keep exactly.
//!
//! Accepted: `^`, then literals (ASCII, a metacharacter escaped with `\`) and classes of ASCII
//! characters and ranges (`[A-Za-z0-9._:-]`, no negation, no escapes), each optionally followed
//! by `?`, `*`, `+`, `{n}`, `{m,}` or `{m,n}`, then `$`. The runtime matches each piece greedily,
//! which is exact only when no character a repeated piece could take may also start what follows
//! it; a pattern where it could is refused too.

use crate::{CodegenError, Result};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// One compiled piece: a set of ASCII characters repeated `min` to `max` times.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Inclusive byte ranges; a character matches when it lies in one of them.
    pub ranges: Vec<(u8, u8)>,
    /// Fewest repetitions.
    pub min: usize,
    /// Most repetitions (`usize::MAX` when unbounded).
    pub max: usize,
}

impl Piece {
    fn admits(&self, c: u8) -> bool {
        self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
    }

    fn overlaps(&self, other: &Piece) -> bool {
        (0..=127).any(|c| self.admits(c) && other.admits(c))
    }
}

const META: &[u8] = b"\\.+*?()|[]{}^$";

/// The byte ranges of a class or a literal.
type Ranges = Vec<(u8, u8)>;

/// A parsed item and the input after it, or why the pattern is refused.
type Step<'a, T> = std::result::Result<(T, &'a [u8]), &'static str>;

/// Compiles a pattern into its pieces.
pub fn compile(pattern: &str) -> Result<Vec<Piece>> {
    let refuse = |what: &str| refused(pattern, what);
    if !pattern.is_ascii() {
        return Err(refuse("a non-ASCII character"));
    }
    let body = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .filter(|body| !body.ends_with('\\'))
        .ok_or_else(|| refuse("a pattern not anchored with ^ and $"))?;
    let mut rest = body.as_bytes();
    let mut pieces = Vec::new();
    while let Some(step) = atom(rest) {
        let (ranges, after) = step.map_err(&refuse)?;
        let ((min, max), after) = quantifier(after).map_err(&refuse)?;
        pieces.push(Piece { ranges, min, max });
        rest = after;
    }
    if let Some(i) = ambiguous(&pieces) {
        return Err(refuse(&format!(
            "piece {} may also take what follows it (greedy matching would differ)",
            i + 1
        )));
    }
    Ok(pieces)
}

/// `Some(&Pattern { .. })` for a pattern, `None` without one: the `pattern` argument of the
/// generated `check_str` and `check_param` calls.
pub fn option_tokens(pattern: Option<&str>) -> Result<TokenStream> {
    match pattern {
        Some(pattern) => tokens(pattern).map(|tokens| quote!(Some(#tokens))),
        None => Ok(quote!(None)),
    }
}

/// The expression of a `&nyra_api::rt::Pattern` for the pattern.
pub fn tokens(pattern: &str) -> Result<TokenStream> {
    let pieces = compile(pattern)?.into_iter().map(|piece| {
        let (lo, hi): (Vec<Literal>, Vec<Literal>) = piece
            .ranges
            .into_iter()
            .map(|(lo, hi)| (Literal::byte_character(lo), Literal::byte_character(hi)))
            .unzip();
        let min = piece.min;
        let max = if piece.max == usize::MAX {
            quote!(usize::MAX)
        } else {
            let max = piece.max;
            quote!(#max)
        };
        quote! { crate::rt::Piece { ranges: &[#((#lo, #hi)),*], min: #min, max: #max } }
    });
    Ok(quote! { &crate::rt::Pattern { source: #pattern, pieces: &[#(#pieces),*] } })
}

/// The next atom (its ranges), or `None` at the end.
fn atom(input: &[u8]) -> Option<Step<'_, Ranges>> {
    Some(match input {
        [] => return None,
        [b'\\', c, rest @ ..] if META.contains(c) || *c == b'-' => Ok((vec![(*c, *c)], rest)),
        [b'\\', ..] => Err("an escape other than an escaped metacharacter"),
        [b'[', rest @ ..] => class(rest),
        [c, ..] if META.contains(c) => Err("a metacharacter outside a class"),
        [c, rest @ ..] => Ok((vec![(*c, *c)], rest)),
    })
}

/// A class after its `[`: characters and ranges up to `]`.
fn class(input: &[u8]) -> Step<'_, Ranges> {
    let end = input
        .iter()
        .position(|c| *c == b']')
        .ok_or("an unclosed class")?;
    let (items, rest) = (&input[..end], &input[end + 1..]);
    if items.is_empty() || items[0] == b'^' {
        return Err("an empty or negated class");
    }
    if items
        .iter()
        .any(|c| matches!(c, b'[' | b'\\' | b'&' | b'~'))
        || has_double_dash(items)
    {
        return Err("a class with escapes, nesting or set operations");
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < items.len() {
        match items.get(i..i + 3) {
            Some([lo, b'-', hi]) if lo <= hi => {
                ranges.push((*lo, *hi));
                i += 3;
            }
            Some([_, b'-', _]) => return Err("a class range out of order"),
            _ if items[i] == b'-' && i != 0 && i != items.len() - 1 => {
                return Err("a class with a - that is neither a range nor at an end");
            }
            _ => {
                ranges.push((items[i], items[i]));
                i += 1;
            }
        }
    }
    Ok((ranges, rest))
}

fn has_double_dash(items: &[u8]) -> bool {
    items.windows(2).any(|w| w == b"--")
}

/// The repetition `(min, max)` after an atom.
fn quantifier(input: &[u8]) -> Step<'_, (usize, usize)> {
    let (repeat, rest) = match input {
        [b'?', rest @ ..] => ((0, 1), rest),
        [b'*', rest @ ..] => ((0, usize::MAX), rest),
        [b'+', rest @ ..] => ((1, usize::MAX), rest),
        [b'{', rest @ ..] => braces(rest)?,
        _ => return Ok(((1, 1), input)),
    };
    if matches!(rest.first(), Some(b'?' | b'*' | b'+' | b'{')) {
        return Err("a lazy or repeated quantifier");
    }
    Ok((repeat, rest))
}

/// `n}`, `m,}` or `m,n}` after a `{`.
fn braces(input: &[u8]) -> Step<'_, (usize, usize)> {
    let end = input
        .iter()
        .position(|c| *c == b'}')
        .ok_or("an unclosed {")?;
    let text = std::str::from_utf8(&input[..end]).map_err(|_| "a bad repetition")?;
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<usize>().ok())
            .flatten()
            .ok_or("a bad repetition")
    };
    let (min, max) = match text.split_once(',') {
        None => (number(text)?, number(text)?),
        Some((min, "")) => (number(min)?, usize::MAX),
        Some((min, max)) => (number(min)?, number(max)?),
    };
    if min > max {
        return Err("a repetition with min above max");
    }
    Ok(((min, max), &input[end + 1..]))
}

/// The first repeated piece that shares a character with a piece that may follow it directly.
fn ambiguous(pieces: &[Piece]) -> Option<usize> {
    (0..pieces.len()).find(|&i| {
        let piece = &pieces[i];
        piece.min < piece.max && followers(&pieces[i + 1..]).any(|next| piece.overlaps(next))
    })
}

/// The pieces that may supply the next character: up to and including the first required one.
fn followers(rest: &[Piece]) -> impl Iterator<Item = &Piece> {
    let required = rest.iter().position(|p| p.min > 0);
    rest.iter().take(required.map_or(rest.len(), |i| i + 1))
}

fn refused(pattern: &str, what: &str) -> CodegenError {
    CodegenError::Unsupported {
        at: format!("pattern {pattern}"),
        what: what.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(ranges: &[(u8, u8)], min: usize, max: usize) -> Piece {
        Piece {
            ranges: ranges.to_vec(),
            min,
            max,
        }
    }

    #[test]
    fn compiles_the_spec_forms() {
        let alnum = [(b'A', b'Z'), (b'a', b'z'), (b'0', b'9')];
        let device = [
            &alnum[..],
            &[(b'.', b'.'), (b'_', b'_'), (b':', b':'), (b'-', b'-')],
        ]
        .concat();
        assert_eq!(
            compile("^[A-Za-z0-9._:-]{8,128}$").unwrap(),
            [piece(&device, 8, 128)]
        );
        let session = [&alnum[..], &[(b'_', b'_')]].concat();
        assert_eq!(
            compile("^cs_[A-Za-z0-9_]+$").unwrap(),
            [
                piece(&[(b'c', b'c')], 1, 1),
                piece(&[(b's', b's')], 1, 1),
                piece(&[(b'_', b'_')], 1, 1),
                piece(&session, 1, usize::MAX)
            ]
        );
        let code = [&alnum[..], &[(b' ', b' '), (b'-', b'-')]].concat();
        assert_eq!(
            compile("^[A-Za-z0-9 -]{16,64}$").unwrap(),
            [piece(&code, 16, 64)]
        );
    }

    #[test]
    fn compiles_quantifiers_and_escapes() {
        assert_eq!(
            compile(r"^a?\.*[b-d]{2}x{3,}$").unwrap(),
            [
                piece(&[(b'a', b'a')], 0, 1),
                piece(&[(b'.', b'.')], 0, usize::MAX),
                piece(&[(b'b', b'd')], 2, 2),
                piece(&[(b'x', b'x')], 3, usize::MAX)
            ]
        );
        assert_eq!(compile("^$").unwrap(), []);
    }

    #[test]
    fn refuses_what_it_cannot_match_exactly() {
        let refused = [
            "[a-z]+",
            "^[a-z]+",
            "[a-z]+$",
            r"^\d+$",
            r"^a\$",
            "^(a|b)$",
            "^a|b$",
            "^a.b$",
            "^[^a]$",
            "^[]$",
            "^[a-z$",
            "^[z-a]$",
            "^[a-z&&b]$",
            "^[a--b]$",
            "^[a-z-0]$",
            r"^[\w]$",
            "^[[:alpha:]]$",
            "^a+?$",
            "^a{2$",
            "^a{3,2}$",
            "^a{,2}$",
            "^a{x}$",
            "^*a$",
            "^é$",
            "^[a-z]+[a-c]$",
            "^a*a$",
            "^[ab]{1,2}c?b$",
        ];
        for pattern in refused {
            assert!(compile(pattern).is_err(), "{pattern} should be refused");
        }
    }

    #[test]
    fn accepts_a_repeat_followed_by_disjoint_pieces() {
        assert!(compile("^[a-z]+[0-9]?-[a-z]*$").is_ok());
    }
}
