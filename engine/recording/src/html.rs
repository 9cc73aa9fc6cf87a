//! The self-contained trace page an auditor opens in a browser: `index.html` with
//! inline CSS and JavaScript, and the session's screenshots as files in `shots/`
//! beside it (each stored once, named by its hash). The page loads nothing from
//! anywhere else (a Content-Security-Policy forbids it), shows everything without
//! JavaScript, and with JavaScript adds a timeline and keyboard/click navigation.

use crate::{is_refused, load_screenshot, outcome_text, RecordingError, Result, Session, Step};
use marc_store::Store;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Escapes text for HTML content and double-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
:root{--ok:#2e7d32;--fail:#c62828;--ref:#ef6c00;--bg:#fafafa;--line:#ddd;--cur:#e3f2fd}
*{box-sizing:border-box}
html,body{height:100%}
body{margin:0;display:flex;flex-direction:column;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:var(--bg);color:#222}
header{flex:none;padding:12px 20px;background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:18px;margin:0 0 6px}
.meta{display:flex;flex-wrap:wrap;gap:4px 20px;margin:0}
.meta div{display:flex;gap:6px}.meta dt{color:#666}.meta dd{margin:0;font-weight:600}
#timeline{display:flex;gap:1px;height:18px;margin:10px 0 4px;background:#eee;border-radius:3px;overflow:hidden}
#timeline a{flex:1 1 0;min-width:2px;background:var(--ok);opacity:.55}
#timeline a.fail{background:var(--fail)}#timeline a.refused{background:var(--ref)}
#timeline a.current{opacity:1;outline:2px solid #0d47a1;outline-offset:-2px}
.bar{display:flex;gap:10px;align-items:center;color:#555;font-size:13px}
.bar button{font:inherit;padding:2px 10px}
#banner{flex:none;margin:8px 20px;padding:8px 12px;background:#fff3e0;border:1px solid var(--ref)}
main{flex:1 1 auto;overflow:auto;padding:8px 20px 40px}
ol#steps{list-style:none;margin:0;padding:0}
.step{background:#fff;border:1px solid var(--line);border-left:5px solid var(--ok);margin:6px 0;border-radius:3px}
.step.fail{border-left-color:var(--fail)}.step.refused{border-left-color:var(--ref)}
.step.current{background:var(--cur);border-color:#90caf9}
.head{display:flex;gap:12px;align-items:baseline;padding:6px 10px;cursor:pointer;flex-wrap:wrap}
.idx{font-weight:700;min-width:3.5em}.time,.dur{color:#555;font-variant-numeric:tabular-nums}
.cmd{font-weight:600}.status{font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.fail .status{color:var(--fail)}.refused .status{color:var(--ref)}
.body{padding:0 10px 10px 10px}
.body dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 8px}
.body dt{color:#666}.body dd{margin:0;overflow-wrap:anywhere}
pre{margin:0;white-space:pre-wrap;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
figure{margin:0}figure img{max-width:100%;max-height:75vh;object-fit:contain;border:1px solid var(--line);display:block}
figcaption{color:#777;font-size:12px}
body.js .step:not(.current) .body{display:none}
"#;

const JS: &str = r#"
(function(){
  var body=document.body; body.classList.add('js');
  var steps=[].slice.call(document.querySelectorAll('#steps > li'));
  var ticks=[].slice.call(document.querySelectorAll('#timeline a'));
  var pos=document.getElementById('pos'); var cur=-1;
  function show(i,scroll){
    if(!steps.length) return;
    i=Math.max(0,Math.min(steps.length-1,i));
    if(cur>=0){steps[cur].classList.remove('current'); if(ticks[cur]) ticks[cur].classList.remove('current');}
    cur=i; steps[i].classList.add('current'); if(ticks[i]) ticks[i].classList.add('current');
    body.dataset.current=steps[i].dataset.i;
    if(pos) pos.textContent='step '+(i+1)+' of '+steps.length;
    if(scroll) steps[i].scrollIntoView({block:'nearest'});
    try{history.replaceState(null,'','#step-'+steps[i].dataset.i);}catch(e){}
  }
  document.addEventListener('keydown',function(e){
    if(e.altKey||e.ctrlKey||e.metaKey) return;
    var k=e.key;
    if(k==='ArrowRight'||k==='ArrowDown'||k==='j'||k==='n'){show(cur+1,true);e.preventDefault();}
    else if(k==='ArrowLeft'||k==='ArrowUp'||k==='k'||k==='p'){show(cur-1,true);e.preventDefault();}
    else if(k==='Home'){show(0,true);e.preventDefault();}
    else if(k==='End'){show(steps.length-1,true);e.preventDefault();}
  });
  steps.forEach(function(s,i){s.querySelector('.head').addEventListener('click',function(){show(i,false);});});
  ticks.forEach(function(t,i){t.addEventListener('click',function(e){e.preventDefault();show(i,true);});});
  var prev=document.getElementById('prev'), next=document.getElementById('next');
  if(prev) prev.addEventListener('click',function(){show(cur-1,true);});
  if(next) next.addEventListener('click',function(){show(cur+1,true);});
  var m=/^#step-(\d+)$/.exec(location.hash), start=0;
  if(m){steps.forEach(function(s,i){if(s.dataset.i===m[1]) start=i;});}
  show(start,!!m);
  window.addEventListener('load',function(){
    var broken=0;
    [].forEach.call(document.images,function(im){if(!(im.complete&&im.naturalWidth>0)) broken++;});
    body.dataset.broken=String(broken); body.dataset.loaded='1';
    if(broken){var b=document.getElementById('banner'); b.hidden=false;
      b.textContent=broken+' screenshot(s) could not be shown: keep the shots folder beside index.html.';}
  });
})();
"#;

fn status(s: &Step) -> (&'static str, &'static str) {
    if is_refused(s) {
        ("refused", "refused")
    } else if s.ok {
        ("ok", "ok")
    } else {
        ("fail", "failed")
    }
}

/// Writes `dir/index.html` and `dir/shots/<hash>.png` for a session and returns the
/// path of `index.html`. Screenshots missing from the store are listed on the page
/// instead of failing the export.
pub fn write_html(store: &Store, session: &Session, dir: &Path) -> Result<PathBuf> {
    let werr = |p: &Path, e: std::io::Error| RecordingError::Write {
        path: p.to_path_buf(),
        reason: e.to_string(),
    };
    let shots_dir = dir.join("shots");
    std::fs::create_dir_all(&shots_dir).map_err(|e| werr(&shots_dir, e))?;
    let hashes: BTreeSet<&str> = session
        .steps
        .iter()
        .filter_map(|s| s.screenshot.as_deref())
        .collect();
    let mut missing = BTreeSet::new();
    for h in &hashes {
        let p = shots_dir.join(format!("{h}.png"));
        if p.exists() {
            continue;
        }
        match load_screenshot(store, h) {
            Ok(png) => std::fs::write(&p, png).map_err(|e| werr(&p, e))?,
            Err(RecordingError::NoScreenshot(_))
            | Err(RecordingError::DamagedScreenshot { .. }) => {
                missing.insert(h.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    let html = render_page(session, &missing);
    let index = dir.join("index.html");
    std::fs::write(&index, html).map_err(|e| werr(&index, e))?;
    Ok(index)
}

/// The trace page as a string, for serving (the web app's trace view):
/// its screenshots are fetched from `shots/<hash>.png` beside it, and those
/// missing from the store are listed on the page.
pub fn html_page(store: &Store, session: &Session) -> Result<String> {
    let hashes: BTreeSet<&str> = session
        .steps
        .iter()
        .filter_map(|s| s.screenshot.as_deref())
        .collect();
    let mut missing = BTreeSet::new();
    for h in hashes {
        match load_screenshot(store, h) {
            Ok(_) => {}
            Err(RecordingError::NoScreenshot(_))
            | Err(RecordingError::DamagedScreenshot { .. }) => {
                missing.insert(h.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(render_page(session, &missing))
}

fn render_page(session: &Session, missing: &BTreeSet<String>) -> String {
    let m = &session.meta;
    let mut h = String::with_capacity(4096 + session.steps.len() * 600);
    let title = format!("marc session {}", m.id);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"da\"><head><meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"generator\" content=\"marc replay\">\n<title>{}</title>\n<style>{CSS}</style></head>\n\
<body data-loaded=\"0\" data-broken=\"-1\" data-steps=\"{}\">\n<header>\n<h1>{}</h1>\n<dl class=\"meta\">",
        esc(&title),
        session.steps.len(),
        esc(&title)
    );
    let mut meta_item = |k: &str, v: &str| {
        let _ = write!(h, "<div><dt>{}</dt><dd>{}</dd></div>", esc(k), esc(v));
    };
    meta_item("robot", &m.robot);
    if let Some(s) = &m.system {
        meta_item("system", s);
    }
    if let Some(r) = &m.request {
        meta_item("request", r);
    }
    if let Some(r) = &m.replay_of {
        meta_item("replay of", r);
    }
    meta_item("started", &m.started);
    meta_item("finished", m.finished.as_deref().unwrap_or("-"));
    meta_item("outcome", &outcome_text(m));
    meta_item("steps", &session.steps.len().to_string());
    let failed = session.steps.iter().filter(|s| !s.ok).count();
    let refused = session.steps.iter().filter(|s| is_refused(s)).count();
    meta_item("failed", &failed.to_string());
    meta_item("refused", &refused.to_string());
    h.push_str("</dl>\n<nav id=\"timeline\" aria-label=\"timeline\">");
    for s in &session.steps {
        let (cls, st) = status(s);
        let _ = write!(
            h,
            "<a class=\"{cls}\" href=\"#step-{i}\" title=\"#{i} {cmd} ({st}, {d} ms)\"></a>",
            i = s.index,
            cmd = esc(&s.command),
            d = s.duration_ms
        );
    }
    h.push_str(
        "</nav>\n<div class=\"bar\"><button id=\"prev\" type=\"button\">&larr; previous</button>\
<button id=\"next\" type=\"button\">next &rarr;</button><span id=\"pos\"></span>\
<span>keys: &larr; &rarr; / j k, Home, End; click a step or the timeline</span></div>\n</header>\n",
    );
    if missing.is_empty() {
        h.push_str("<div id=\"banner\" hidden></div>\n");
    } else {
        let _ = writeln!(
            h,
            "<div id=\"banner\">{} screenshot(s) are missing from the data directory and are not shown.</div>",
            missing.len()
        );
    }
    // Scrolls on its own, so it takes the keyboard focus (arrow keys scroll it).
    h.push_str("<main tabindex=\"0\" aria-label=\"Steps\">\n<ol id=\"steps\">\n");
    for s in &session.steps {
        let (cls, st) = status(s);
        let _ = write!(
            h,
            "<li id=\"step-{i}\" class=\"step {cls}\" data-i=\"{i}\">\n<div class=\"head\"><span class=\"idx\">#{i}</span>\
<span class=\"time\">{time}</span><span class=\"cmd\">{cmd}</span><span class=\"dur\">{d} ms</span>\
<span class=\"status\">{st}</span></div>\n<div class=\"body\"><dl>",
            i = s.index,
            time = esc(&s.time),
            cmd = esc(&s.command),
            d = s.duration_ms
        );
        let _ = write!(
            h,
            "<dt>command</dt><dd><code>{}</code></dd>",
            esc(&s.command)
        );
        let args = if s.args.is_empty() {
            "<dd>-</dd>".to_string()
        } else {
            format!(
                "<dd>{}</dd>",
                s.args
                    .iter()
                    .map(|a| format!("<code>{}</code>", esc(a)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = write!(h, "<dt>arguments</dt>{args}");
        let _ = write!(h, "<dt>result</dt><dd><pre>{}</pre></dd>", esc(&s.result));
        let _ = write!(h, "<dt>duration</dt><dd>{} ms</dd>", s.duration_ms);
        if let Some(u) = &s.url {
            let _ = write!(h, "<dt>url</dt><dd><code>{}</code></dd>", esc(u));
        }
        if let Some(r) = &s.rights {
            let _ = write!(h, "<dt>rights</dt><dd>{}</dd>", esc(r));
        }
        h.push_str("</dl>");
        if let Some(hash) = &s.screenshot {
            if missing.contains(hash) {
                let _ = write!(
                    h,
                    "<p class=\"missing\">screenshot {} is missing</p>",
                    esc(hash)
                );
            } else {
                let _ = write!(
                    h,
                    "<figure><img src=\"shots/{hash}.png\" alt=\"screen after step {i}\" decoding=\"async\">\
<figcaption>screen after step {i} &middot; {short}</figcaption></figure>",
                    hash = esc(hash),
                    i = s.index,
                    short = esc(&hash[..hash.len().min(12)])
                );
            }
        }
        h.push_str("</div>\n</li>\n");
    }
    let _ = write!(h, "</ol>\n</main>\n<script>{JS}</script>\n</body></html>\n");
    h
}
