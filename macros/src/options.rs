//! The options inside `#[filch::main(...)]` and `#[filch::test(...)]`: parsed and checked at
//! compile time, every mistake a `syn::Error` on the tokens that are wrong.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Path, Token};

/// Which attribute the options belong to: the two take different options and defaults.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[filch::main]",
            Kind::Test => "#[filch::test]",
        }
    }

    /// The options this attribute takes, as the "unknown option" error lists them.
    fn valid_options(self) -> &'static str {
        match self {
            Kind::Main => "`flavor`, `worker_threads`, `start_paused` and `crate`",
            Kind::Test => "`flavor`, `worker_threads`, `start_paused`, `timeout` and `crate`",
        }
    }

    fn default_flavor(self) -> Flavor {
        match self {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        }
    }
}

/// Which runtime the attribute builds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    MultiThread,
    CurrentThread,
}

/// The checked options.
pub(crate) struct Options {
    pub(crate) flavor: Flavor,
    /// `Some` only with the multi-thread flavor.
    pub(crate) worker_threads: Option<usize>,
    /// In milliseconds; `Some` only for `#[filch::test]`.
    pub(crate) timeout_ms: Option<u64>,
    /// The runtime's clock starts paused (`Builder::start_paused`).
    pub(crate) start_paused: bool,
    /// How the expansion names the facade crate: `::filch` unless `crate = "..."` says otherwise.
    pub(crate) crate_path: TokenStream,
}

impl Options {
    /// What the attribute does without options; also what an attribute whose options are wrong
    /// expands with, next to the errors, so that the function still compiles and no second,
    /// confusing error (such as "`main` function not found") follows the real one.
    pub(crate) fn defaults(kind: Kind) -> Options {
        Options {
            flavor: kind.default_flavor(),
            worker_threads: None,
            timeout_ms: None,
            start_paused: false,
            crate_path: quote::quote!(::filch),
        }
    }
}

/// Parses and checks `args`, the tokens inside the attribute's parentheses. Every mistake is
/// reported, not only the first.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut errors = Errors::default();
    let mut options = Options::defaults(kind);
    let mut flavor: Option<Flavor> = None;
    // The `worker_threads = N` option, for the flavor check at the end.
    let mut worker_threads_option: Option<TokenStream> = None;
    let mut seen: Vec<String> = Vec::new();

    for meta in metas {
        let name = meta.path().to_token_stream().to_string().replace(' ', "");
        let known = match name.as_str() {
            "flavor" | "worker_threads" | "start_paused" | "crate" => true,
            "timeout" => kind == Kind::Test,
            _ => false,
        };
        if !known {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!(
                    "unknown option `{name}`; `{}` takes {}",
                    kind.attribute(),
                    kind.valid_options()
                ),
            ));
            continue;
        }
        let Meta::NameValue(option) = &meta else {
            errors.push(syn::Error::new_spanned(
                &meta,
                format!(
                    "options are written `name = value`: `{}`",
                    example_of(&name)
                ),
            ));
            continue;
        };
        if seen.contains(&name) {
            errors.push(syn::Error::new_spanned(
                meta.path(),
                format!("`{name}` is given twice"),
            ));
            continue;
        }
        seen.push(name.clone());
        let value = &option.value;
        match name.as_str() {
            "flavor" => match parse_flavor(value) {
                Ok(parsed) => flavor = Some(parsed),
                Err(err) => errors.push(err),
            },
            "worker_threads" => match parse_worker_threads(value) {
                Ok(n) => {
                    options.worker_threads = Some(n);
                    worker_threads_option = Some(meta.to_token_stream());
                }
                Err(err) => errors.push(err),
            },
            "timeout" => match parse_timeout(value) {
                Ok(ms) => options.timeout_ms = Some(ms),
                Err(err) => errors.push(err),
            },
            "start_paused" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(lit),
                    ..
                }) => options.start_paused = lit.value,
                _ => errors.push(syn::Error::new_spanned(
                    value,
                    "`start_paused` takes `true` or `false`",
                )),
            },
            "crate" => match parse_crate_path(value) {
                Ok(path) => options.crate_path = path.into_token_stream(),
                Err(err) => errors.push(err),
            },
            _ => unreachable!("every known option is handled"),
        }
    }

    // `worker_threads` alone asks for the multi-thread flavor (the only one with workers); with
    // an explicit current-thread flavor it is a contradiction.
    options.flavor = match (flavor, worker_threads_option) {
        (Some(Flavor::CurrentThread), Some(option)) => {
            errors.push(syn::Error::new_spanned(
                option,
                "`worker_threads` needs `flavor = \"multi_thread\"`: a current_thread runtime \
                 has no worker threads (it runs every task on the thread that calls `block_on`)",
            ));
            Flavor::CurrentThread
        }
        (Some(flavor), _) => flavor,
        (None, Some(_)) => Flavor::MultiThread,
        (None, None) => kind.default_flavor(),
    };
    errors.finish()?;
    Ok(options)
}

/// An example of the option written right, for the "wrong form" error.
fn example_of(name: &str) -> &'static str {
    match name {
        "flavor" => "flavor = \"current_thread\"",
        "worker_threads" => "worker_threads = 4",
        "timeout" => "timeout = \"30s\"",
        "start_paused" => "start_paused = true",
        _ => "crate = \"my_filch\"",
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    const FLAVORS: &str = "\"multi_thread\" or \"current_thread\"";
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => match lit.value().as_str() {
            "multi_thread" => Ok(Flavor::MultiThread),
            "current_thread" => Ok(Flavor::CurrentThread),
            other => Err(syn::Error::new(
                lit.span(),
                format!("unknown flavor \"{other}\": use {FLAVORS}"),
            )),
        },
        Expr::Path(path)
            if path.path.is_ident("multi_thread") || path.path.is_ident("current_thread") =>
        {
            let ident = path.to_token_stream();
            Err(syn::Error::new_spanned(
                value,
                format!("the flavor is a string: `flavor = \"{ident}\"`"),
            ))
        }
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`flavor` takes a string, {FLAVORS}"),
        )),
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    const HOW: &str = "`worker_threads` takes a positive integer, like `worker_threads = 4`";
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => match lit.base10_parse::<usize>() {
            Ok(0) => Err(syn::Error::new(
                lit.span(),
                "`worker_threads = 0`: a multi_thread runtime needs at least one worker thread",
            )),
            Ok(n) => Ok(n),
            Err(_) => Err(syn::Error::new(lit.span(), HOW)),
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.value().parse::<usize>().is_ok() => Err(syn::Error::new(
            lit.span(),
            format!(
                "write the number without quotes: `worker_threads = {}`",
                lit.value()
            ),
        )),
        _ => Err(syn::Error::new_spanned(value, HOW)),
    }
}

/// `"30s"`: a whole number and a unit, `ms`, `s` or `m`. Returns milliseconds.
fn parse_timeout(value: &Expr) -> syn::Result<u64> {
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    else {
        return Err(syn::Error::new_spanned(
            value,
            "`timeout` takes a string with a unit (ms, s or m), like `timeout = \"30s\"`",
        ));
    };
    let text = lit.value();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let bad = |why: &str| syn::Error::new(lit.span(), format!("bad timeout \"{text}\": {why}"));
    if number.is_empty() {
        return Err(bad(
            "write a whole number and a unit (ms, s or m), like \"30s\" or \"500ms\"",
        ));
    }
    let per_unit: u64 =
        match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "" => {
                return Err(bad(
                    "the unit is missing: add ms, s or m after the number, like \"30s\"",
                ))
            }
            _ if unit.starts_with('.') => return Err(bad(
                "the number is a whole one: write a fraction in a smaller unit, like \"1500ms\"",
            )),
            _ => {
                return Err(bad(
                    "the unit is ms, s or m, right after the number, like \"30s\" or \"500ms\"",
                ))
            }
        };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| bad("too long"))?;
    if ms == 0 {
        return Err(bad("a timeout of 0 would fail every test"));
    }
    Ok(ms)
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    const HOW: &str = "`crate` takes the path of the filch crate as a string, like \
                       `crate = \"my_filch\"`";
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit
            .parse::<Path>()
            .map_err(|_| syn::Error::new(lit.span(), HOW)),
        _ => Err(syn::Error::new_spanned(value, HOW)),
    }
}

/// Several errors, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }

    /// A `compile_error!` per error, or nothing.
    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0
            .map_or_else(TokenStream::new, |errors| errors.to_compile_error())
    }
}
