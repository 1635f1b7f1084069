//! What `#[filch::main]` and `#[filch::test]` expand to.
//!
//! The `async fn` becomes a plain `fn` with the same attributes, visibility, name and return
//! type, whose body builds a runtime and `block_on`s the original body as an `async` block:
//!
//! ```text
//! fn main() -> R {
//!     let body = async { /* the function's body, its tokens and spans untouched */ };
//!     return ::filch::Builder::new_multi_thread().build().expect(..).block_on(body);
//! }
//! ```
//!
//! The body keeps its spans, so an error in it points at the user's code; the `block_on` call is
//! spanned at the body's last statement, so a body whose value does not match the return type is
//! reported there and not at the attribute. A test with a timeout wraps the same two lines in a
//! closure that `filch::__private::run_test` runs on a thread of its own.

use crate::options::{self, Errors, Flavor, Kind, Options};
use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::{ItemFn, LitStr, ReturnType, Type};

/// Expands `#[filch::main(args)]` or `#[filch::test(args)]` on `item`. Mistakes become
/// `compile_error!`s next to an expansion with the default options, so that the real error is
/// not followed by confusing ones (a missing `main`, an `async fn main`).
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let mut errors = Errors::default();
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            format!(
                "`{}` goes on an `async fn`: add `async` before `fn`",
                kind.attribute()
            ),
        ));
    }
    let takes_arguments = !sig.inputs.is_empty();
    if takes_arguments {
        match kind {
            // On another function, `#[filch::main]` keeps its arguments (the body borrows them).
            Kind::Main if sig.ident == "main" => errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "`main` takes no arguments: read the command line with `std::env::args()`",
            )),
            Kind::Main => {}
            Kind::Test => errors.push(syn::Error::new_spanned(
                &sig.inputs,
                "a test takes no arguments: the test harness calls it without any",
            )),
        }
    }
    if kind == Kind::Test {
        let (tests, others) = function.attrs.into_iter().partition(|attr| {
            attr.path()
                .segments
                .last()
                .is_some_and(|segment| segment.ident == "test")
        });
        for attr in tests {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[filch::test]` makes the function a test already: remove this attribute",
            ));
        }
        function.attrs = others;
    }
    let options = match options::parse(kind, args) {
        Ok(options) => options,
        Err(err) => {
            errors.push(err);
            Options::defaults(kind)
        }
    };

    let expanded = match kind {
        Kind::Main if takes_arguments && sig.ident == "main" => {
            // Without its arguments the body may not compile: a bare `main` is enough to keep
            // the one error alone.
            let ItemFn { attrs, vis, .. } = &function;
            quote!(#(#attrs)* #vis fn main() {})
        }
        Kind::Main => expand_main(function, &options),
        Kind::Test if takes_arguments => TokenStream::new(),
        Kind::Test => expand_test(function, &options),
    };
    let mut out = errors.into_compile_errors();
    out.extend(expanded);
    out
}

fn expand_main(function: ItemFn, options: &Options) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = function;
    sig.asyncness = None;
    let body = Ident::new("body", Span::mixed_site());
    let run = block_on(
        options,
        &block,
        &body,
        "#[filch::main]: cannot build the runtime",
    );
    let run = returned(&block, run);
    quote! {
        #(#attrs)*
        #vis #sig {
            let #body = async #block;
            #run
        }
    }
}

fn expand_test(function: ItemFn, options: &Options) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = function;
    sig.asyncness = None;
    let name = sig.ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    let body = Ident::new("body", Span::mixed_site());
    let cannot_build = format!("#[filch::test]: cannot build the runtime of test `{name}`");
    let run = block_on(options, &block, &body, &cannot_build);

    let Some(timeout_ms) = options.timeout_ms else {
        let run = returned(&block, run);
        return quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis #sig {
                let #body = async #block;
                #run
            }
        };
    };

    // With a timeout the test runs on a thread of its own, and its value comes back to the test's
    // thread: `()` does; any other return type (`Result<(), Box<dyn Error>>` is not `Send`) is
    // turned into an `ExitCode` over there by `Termination::report`, which prints the error just
    // as the test harness does for a test that returns an `Err`.
    let run = match &sig.output {
        ReturnType::Type(_, ty) if !is_unit(ty) => {
            // The type of the body's value says what `report` is called on.
            let value = Ident::new("value", Span::mixed_site());
            let span = first_span(ty.to_token_stream());
            let typed = quote!(let #value: #ty = #run;);
            sig.output = syn::parse_quote_spanned!(span=> -> ::std::process::ExitCode);
            quote_spanned!(span=> #typed ::std::process::Termination::report(#value))
        }
        _ => returned(&block, run),
    };
    let krate = &options.crate_path;
    let name = LitStr::new(name, sig.ident.span());
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis #sig {
            #krate::__private::run_test(
                #name,
                ::core::option::Option::Some(::core::time::Duration::from_millis(#timeout_ms)),
                move || {
                    let #body = async #block;
                    #run
                },
            )
        }
    }
}

/// `<a runtime>.block_on(body)`, spanned at the start of the body's last statement, so that a
/// body whose value has the wrong type is reported there rather than at the attribute.
fn block_on(
    options: &Options,
    block: &syn::Block,
    body: &Ident,
    cannot_build: &str,
) -> TokenStream {
    let span = last_span(block);
    // The expression's span runs from its first token to its last: the crate's path, from the
    // attribute, gets the span of the rest.
    let krate = respanned(options.crate_path.clone(), span);
    let builder = match options.flavor {
        Flavor::MultiThread => quote_spanned!(span=> #krate::Builder::new_multi_thread()),
        Flavor::CurrentThread => quote_spanned!(span=> #krate::Builder::new_current_thread()),
    };
    let workers = options
        .worker_threads
        .map(|n| quote_spanned!(span=> .worker_threads(#n)));
    let paused = options
        .start_paused
        .then(|| quote_spanned!(span=> .start_paused(true)));
    quote_spanned!(span=> #builder #workers #paused .build().expect(#cannot_build).block_on(#body))
}

/// `return value;`, spanned like `value`.
fn returned(block: &syn::Block, value: TokenStream) -> TokenStream {
    quote_spanned! {last_span(block)=>
        #[allow(clippy::expect_used, clippy::diverging_sub_expression, clippy::needless_return)]
        {
            return #value;
        }
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// The start of the body's last statement (stable Rust cannot join spans).
fn last_span(block: &syn::Block) -> Span {
    block
        .stmts
        .last()
        .map_or_else(Span::call_site, |stmt| first_span(stmt.to_token_stream()))
}

fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}

fn first_span(tokens: TokenStream) -> Span {
    tokens
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}
