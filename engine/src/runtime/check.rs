//! `marc check`: compile a script and check every call against the
//! registered API without running anything.

use super::{sandbox, RobotEnv};
use rhai::{ASTNode, Engine, Expr, Stmt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One problem found in a script, with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Functions the Rhai language provides itself, outside any package.
const LANGUAGE_FUNCTIONS: &[&str] = &[
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "type_of",
    "print",
    "debug",
    "this",
];

/// Known function names with the argument counts they accept.
pub fn known_functions(engine: &Engine) -> BTreeMap<String, BTreeSet<usize>> {
    let mut known: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for sig in engine.gen_fn_signatures(true) {
        let Some(open) = sig.find('(') else { continue };
        let name = sig[..open].trim().to_string();
        let close = sig.rfind(')').unwrap_or(sig.len());
        let inner = sig.get(open + 1..close).unwrap_or("").trim();
        let n = if inner.is_empty() {
            0
        } else {
            inner.split(", ").count()
        };
        known.entry(name).or_default().insert(n);
    }
    known
}

/// The engine `marc check` compiles with: the same API and limits a robot
/// gets, bound to an environment that cannot do anything.
pub fn check_engine(handle: tokio::runtime::Handle) -> Engine {
    let env = Arc::new(RobotEnv::for_check(handle));
    let mut engine = sandbox::raw_engine(
        &env.limits,
        env.cancel.clone(),
        env.started,
        env.run.raised.clone(),
    );
    super::api::register(&mut engine, env);
    engine
}

/// Compiles `source` and checks it; an empty list means it is fine.
pub fn check_source(engine: &Engine, file: &str, source: &str) -> Vec<Diagnostic> {
    let scope = super::script_scope_for_check();
    let ast = match engine.compile_with_scope(&scope, source) {
        Ok(ast) => ast,
        Err(e) => {
            let pos = e.position();
            return vec![Diagnostic {
                file: file.into(),
                line: pos.line().unwrap_or(0),
                column: pos.position().unwrap_or(0),
                message: format!("syntax error: {}", e.err_type()),
            }];
        }
    };
    let known = known_functions(engine);
    let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in ast.iter_functions() {
        script_fns
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
    }
    let mut out = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos, method) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => (call, *pos, true),
            // A call used as a statement is a statement node of its own.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, *pos, false),
            _ => return true,
        };
        let name = call.name.as_str();
        if call.is_operator_call()
            || !call.namespace.is_empty()
            || LANGUAGE_FUNCTIONS.contains(&name)
        {
            return true;
        }
        if !name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
        {
            return true;
        }
        let arity = call.args.len() + usize::from(method);
        let in_known = known.get(name);
        let in_script = script_fns.get(name);
        let message = match (in_known, in_script) {
            (None, None) => Some(match suggest(name, known.keys().chain(script_fns.keys())) {
                Some(s) => format!("unknown function `{name}` (did you mean `{s}`?)"),
                None => format!("unknown function `{name}`"),
            }),
            _ if method => None,
            _ => {
                let ok = in_known.is_some_and(|s| s.contains(&arity))
                    || in_script.is_some_and(|s| s.contains(&arity));
                (!ok).then(|| {
                    let mut counts: Vec<usize> = in_known
                        .into_iter()
                        .flatten()
                        .chain(in_script.into_iter().flatten())
                        .copied()
                        .collect();
                    counts.sort_unstable();
                    counts.dedup();
                    let counts: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
                    format!(
                        "`{name}` takes {} argument(s), not {arity}",
                        counts.join(" or ")
                    )
                })
            }
        };
        if let Some(message) = message {
            out.push(Diagnostic {
                file: file.into(),
                line: pos.line().unwrap_or(0),
                column: pos.position().unwrap_or(0),
                message,
            });
        }
        true
    });
    out.sort_by_key(|d| (d.line, d.column));
    out.dedup();
    out
}

/// The closest known name, if one is close enough to be a typo.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> Option<String> {
    known
        .map(|k| (levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(name.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let v = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Vec<Diagnostic> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let engine = check_engine(rt.handle().clone());
        check_source(&engine, "t.rhai", src)
    }

    #[test]
    fn good_script_passes() {
        let d = check("navigate(\"/login\");\nlet rows = table(\"#cases\");\nfor r in rows { log(r.title); }\nfn helper(x) { x + 1 }\nhelper(2);\nlet n = rows.len();\nemit(#{case_id: \"1\", title: \"t\", date: \"2020-01-01\", text: request.cpr});");
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn unknown_function_has_position_and_suggestion() {
        let d = check("navigate(\"/\");\n  clik(\"#x\");");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].line, d[0].column), (2, 3));
        assert!(
            d[0].message.contains("did you mean `click`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn wrong_arity_and_syntax_error() {
        let d = check("wait_for(\"#x\");");
        assert!(d[0].message.contains("takes 2 argument(s), not 1"), "{d:?}");
        let d = check("let x = ;\n");
        assert_eq!(d[0].line, 1);
        assert!(d[0].message.starts_with("syntax error"), "{d:?}");
    }

    #[test]
    fn undefined_variable_is_an_error() {
        let d = check("log(nothing_here);");
        assert!(!d.is_empty());
    }
}
