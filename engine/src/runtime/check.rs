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

/// The functions a module offers (`lib/<name>`), with their argument counts.
type ModuleFns = BTreeMap<String, BTreeSet<usize>>;

/// The public functions of each importable module, by import path
/// (`lib/legacy`); a module that does not compile offers nothing.
fn module_functions(engine: &Engine, libs: &[(String, String)]) -> BTreeMap<String, ModuleFns> {
    libs.iter()
        .map(|(stem, src)| {
            let mut fns = ModuleFns::new();
            if let Ok(ast) = engine.compile(src) {
                for f in ast.iter_functions() {
                    if f.access != rhai::FnAccess::Private {
                        fns.entry(f.name.to_string())
                            .or_default()
                            .insert(f.params.len());
                    }
                }
            }
            (format!("lib/{stem}"), fns)
        })
        .collect()
}

/// Parameter types of the robot API's functions (those with a doc
/// comment), per name: one list per overload.
fn api_param_types(engine: &Engine) -> BTreeMap<String, Vec<Vec<String>>> {
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for f in v["functions"].as_array().into_iter().flatten() {
        if f["docComments"].as_array().is_none_or(|c| c.is_empty()) {
            continue;
        }
        let (Some(name), Some(params)) = (f["name"].as_str(), f["params"].as_array()) else {
            continue;
        };
        let types = params
            .iter()
            .map(|p| p["type"].as_str().unwrap_or("Dynamic").to_string())
            .collect();
        out.entry(name.to_string()).or_default().push(types);
    }
    out
}

/// The Rhai type of a literal argument, if it is one.
fn literal_type(e: &Expr) -> Option<&'static str> {
    Some(match e {
        Expr::StringConstant(..) | Expr::InterpolatedString(..) => "string",
        Expr::IntegerConstant(..) => "integer",
        Expr::FloatConstant(..) => "float",
        Expr::BoolConstant(..) => "bool",
        Expr::CharConstant(..) => "char",
        Expr::Array(..) => "array",
        Expr::Map(..) => "map",
        Expr::Unit(..) => "()",
        Expr::DynamicConstant(v, _) => match v.type_name() {
            "string" => "string",
            "i64" => "integer",
            "f64" => "float",
            "bool" => "bool",
            "array" => "array",
            "map" => "map",
            _ => return None,
        },
        _ => return None,
    })
}

/// Whether a parameter of type `param` (as the metadata writes it) takes a
/// literal of type `lit`.
fn accepts(param: &str, lit: &str) -> bool {
    match param {
        "Dynamic" | "?" => true,
        "&str" | "String" | "ImmutableString" | "&mut ImmutableString" => lit == "string",
        "i64" | "INT" => lit == "integer",
        "f64" | "FLOAT" => lit == "float" || lit == "integer",
        "bool" => lit == "bool",
        "char" => lit == "char",
        "Array" => lit == "array",
        "Map" => lit == "map",
        "()" => lit == "()",
        _ => false,
    }
}

fn article(t: &str) -> String {
    match t {
        "integer" => "an integer".into(),
        "array" => "an array".into(),
        "()" => "()".into(),
        t => format!("a {t}"),
    }
}

/// Compiles `source` and checks it; an empty list means it is fine.
/// `libs` are the modules it may import (`import "lib/<name>" as x;`).
pub fn check_source(
    engine: &Engine,
    file: &str,
    source: &str,
    libs: &[(String, String)],
) -> Vec<Diagnostic> {
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
    let types = api_param_types(engine);
    let modules = module_functions(engine, libs);
    let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in ast.iter_functions() {
        script_fns
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
    }
    let mut out = Vec::new();
    let mut at = |pos: rhai::Position, message: String| {
        out.push(Diagnostic {
            file: file.into(),
            line: pos.line().unwrap_or(0),
            column: pos.position().unwrap_or(0),
            message,
        })
    };
    // Imports first: their aliases name the modules of `alias::f()` calls.
    let mut aliases: BTreeMap<String, Option<&ModuleFns>> = BTreeMap::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(x, pos))) = path.last() {
            let (what, alias) = (&x.0, &x.1);
            if let Expr::StringConstant(p, _) = what {
                let found = modules.get(p.as_str());
                if found.is_none() {
                    let have: Vec<&str> = modules.keys().map(String::as_str).collect();
                    at(
                        *pos,
                        format!(
                            "no module {p:?} to import; {}",
                            if have.is_empty() {
                                "there is no scripts/lib folder beside the script".to_string()
                            } else {
                                format!("scripts/lib has {}", have.join(", "))
                            }
                        ),
                    );
                }
                aliases.insert(alias.name.to_string(), found);
            }
        }
        true
    });
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos, method) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, *pos, false),
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => (call, *pos, true),
            // A call used as a statement is a statement node of its own.
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, *pos, false),
            _ => return true,
        };
        let name = call.name.as_str();
        if !call.namespace.is_empty() {
            let alias = call.namespace.root();
            match aliases.get(alias) {
                None => at(
                    pos,
                    format!("`{alias}::{name}`: no module is imported as `{alias}`"),
                ),
                // A missing module is reported at its import.
                Some(None) => {}
                Some(Some(fns)) => match fns.get(name) {
                    None => at(
                        pos,
                        match suggest(name, fns.keys()) {
                            Some(s) => {
                                format!("`{alias}` has no function `{name}` (did you mean `{s}`?)")
                            }
                            None => format!(
                                "`{alias}` has no function `{name}`; it has {}",
                                fns.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        },
                    ),
                    Some(counts) if !counts.contains(&call.args.len()) => at(
                        pos,
                        format!(
                            "`{alias}::{name}` takes {} argument(s), not {}",
                            counts
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(" or "),
                            call.args.len()
                        ),
                    ),
                    Some(_) => {}
                },
            }
            return true;
        }
        if call.is_operator_call() || LANGUAGE_FUNCTIONS.contains(&name) {
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
            at(pos, message);
            return true;
        }
        // Literal arguments of the robot API against its parameter types.
        if let (Some(overloads), None, false) = (types.get(name), in_script, method) {
            let fitting: Vec<&Vec<String>> =
                overloads.iter().filter(|o| o.len() == arity).collect();
            for (i, arg) in call.args.iter().enumerate() {
                let Some(lit) = literal_type(arg) else {
                    continue;
                };
                if fitting.iter().any(|o| accepts(&o[i], lit)) {
                    continue;
                }
                let wanted: Vec<String> = fitting.iter().map(|o| o[i].clone()).collect();
                at(
                    arg.position(),
                    format!(
                        "`{name}` takes {} as argument {}, not {}",
                        wanted.join(" or "),
                        i + 1,
                        article(lit)
                    ),
                );
            }
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
        let libs = [(
            "legacy".to_string(),
            "fn login() { navigate(\"/\"); }\nfn read_document(url) { #{} }\nprivate fn hidden() { 1 }".to_string(),
        )];
        check_source(&engine, "t.rhai", src, &libs)
    }

    #[test]
    fn imports_and_module_functions_are_checked() {
        let d = check(
            "import \"lib/legacy\" as legacy;\nlegacy::login();\nlegacy::read_document(\"/d\");",
        );
        assert!(d.is_empty(), "{d:?}");
        let d = check("import \"lib/nothere\" as x;\nx::login();");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("no module \"lib/nothere\""), "{d:?}");
        assert!(d[0].message.contains("lib/legacy"), "{d:?}");
        let d = check("import \"lib/legacy\" as legacy;\nlegacy::logn();\nlegacy::hidden();\nlegacy::read_document();");
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].message.contains("did you mean `login`"), "{d:?}");
        assert_eq!((d[0].line, d[0].column), (2, 9));
        assert!(d[1].message.contains("no function `hidden`"), "{d:?}");
        assert!(d[2].message.contains("takes 1 argument(s), not 0"), "{d:?}");
    }

    #[test]
    fn literal_arguments_are_checked_against_the_api_types() {
        let d = check("wait_for(\"#x\", \"10s\");");
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].message
                .contains("`wait_for` takes i64 as argument 2, not a string"),
            "{d:?}"
        );
        assert_eq!((d[0].line, d[0].column), (1, 16));
        assert!(check("click(42);")[0].message.contains("not an integer"));
        assert!(check("wait_any(\"#a\", 100);")[0].message.contains("Array"));
        // ocr takes a selector or a File: a string is fine, a number is not.
        assert!(check("ocr(\"#scan\");").is_empty());
        assert!(!check("ocr(3);").is_empty());
        // Values that are not literals are not guessed at.
        assert!(check("let ms = \"10\";\nwait_for(\"#x\", parse_int(ms));").is_empty());
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
