// marc record: runs in the page on every poll (a WebDriver execute_script).
// Each run installs listeners in the page and in every same-origin frame
// that has none yet, and returns the events recorded since the last run.
// Events wait in sessionStorage (shared by the page and its same-origin
// frames), so those made just before a page is left (a click on a link, a
// form submit) survive the navigation. Password values are never read.
// arguments[0] is the WebDriver handle of the window being polled.
const KEY = '__marc_recorded';
// From the top document, whichever frame WebDriver is in.
const top = window.top;
const store = top.sessionStorage;

function install(win, framePath) {
  if (win.__marcRecorder) return;
  win.__marcRecorder = true;
  const doc = win.document;
  const push = (e) => {
    e.url = win.location.href;
    e.frame = framePath;
    const list = JSON.parse(store.getItem(KEY) || '[]');
    list.push(e);
    store.setItem(KEY, JSON.stringify(list));
  };
  const unique = (sel) => {
    try { return doc.querySelectorAll(sel).length === 1; } catch (_) { return false; }
  };
  const xq = (s) => (s.includes("'") ? (s.includes('"') ? null : '"' + s + '"') : "'" + s + "'");
  const xunique = (xp) => doc.evaluate('count(' + xp + ')', doc, null, win.XPathResult.NUMBER_TYPE, null).numberValue === 1;
  const cssPath = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== doc.documentElement; e = e.parentElement) {
      if (e.id && unique('#' + win.CSS.escape(e.id))) { parts.unshift('#' + win.CSS.escape(e.id)); break; }
      const tag = e.tagName.toLowerCase();
      const same = e.parentElement ? Array.from(e.parentElement.children).filter((c) => c.tagName === e.tagName) : [];
      parts.unshift(same.length > 1 ? tag + ':nth-of-type(' + (same.indexOf(e) + 1) + ')' : tag);
    }
    return parts.join(' > ');
  };
  // The selector ladder: id, name, label, text, then a CSS path.
  const selector = (el) => {
    const tag = el.tagName.toLowerCase();
    if (el.id && unique('#' + win.CSS.escape(el.id))) return '#' + win.CSS.escape(el.id);
    const name = el.getAttribute('name');
    if (name) {
      const s = tag + '[name="' + name.replace(/"/g, '\\"') + '"]';
      if (unique(s)) return s;
    }
    const label = el.labels && el.labels[0] ? el.labels[0].innerText.trim() : '';
    if (label && xq(label)) {
      const xp = '//label[normalize-space(.)=' + xq(label) + ']//' + tag;
      if (xunique(xp)) return 'xpath:' + xp;
    }
    const text = (el.innerText || el.value || '').trim();
    if (text && text.length <= 60 && xq(text)) {
      if (tag === 'a' && Array.from(doc.querySelectorAll('a')).filter((a) => a.innerText.trim() === text).length === 1) {
        return 'link:' + text;
      }
      if (tag === 'button') {
        const xp = '//button[normalize-space(.)=' + xq(text) + ']';
        if (xunique(xp)) return 'xpath:' + xp;
      }
    }
    const href = el.getAttribute('href');
    if (tag === 'a' && href) {
      const s = 'a[href="' + href.replace(/"/g, '\\"') + '"]';
      if (unique(s)) return s;
    }
    return cssPath(el);
  };
  win.__marcSelector = selector;
  const describe = (el, kind, extra) => Object.assign({
    kind,
    selector: selector(el),
    text: (el.innerText || el.value || '').trim().slice(0, 200),
    attrs: Array.from(el.attributes).map((a) => [a.name, a.value]),
  }, extra);
  const isSecret = (el) => el.type === 'password';
  // Typing is recorded once per field, when it is done (change) or when the
  // person moves on (click, submit, leaving the page) before a change event.
  const pending = new Map();
  const flush = (el) => {
    if (!pending.has(el)) return;
    pending.delete(el);
    const kind = el.tagName === 'SELECT' ? 'select' : 'fill';
    push(describe(el, kind, isSecret(el) ? { secret: true, value: null } : { value: el.value }));
  };
  const flushAll = () => Array.from(pending.keys()).forEach(flush);
  const typable = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT');
  doc.addEventListener('input', (ev) => { if (typable(ev.target)) pending.set(ev.target, true); }, true);
  doc.addEventListener('change', (ev) => {
    const el = ev.target;
    if (!typable(el) || el.type === 'checkbox' || el.type === 'radio') return;
    pending.set(el, true);
    flush(el);
  }, true);
  doc.addEventListener('click', (ev) => {
    flushAll();
    const el = ev.target.closest('a, button, input, select, textarea, label, [onclick], [role=button], td, li') || ev.target;
    if (typable(el) && el.type !== 'submit' && el.type !== 'checkbox' && el.type !== 'radio' && el.type !== 'button') return;
    push(describe(el, 'click', {}));
  }, true);
  doc.addEventListener('submit', (ev) => {
    flushAll();
    // A form sent with Enter: replayed as a click on its submit button.
    const list = JSON.parse(store.getItem(KEY) || '[]');
    const last = list[list.length - 1];
    const button = ev.target.querySelector('button[type=submit], input[type=submit], button:not([type])');
    if (button && !(last && last.kind === 'click' && last.url === win.location.href && last.selector === selector(button))) {
      push(describe(button, 'click', {}));
    }
  }, true);
  win.addEventListener('pagehide', flushAll, true);
}

// This page and its same-origin frames, each with the path of frame
// selectors that leads to it from the top document.
function walk(win, framePath) {
  install(win, framePath);
  for (const f of win.document.querySelectorAll('frame, iframe')) {
    let child = null;
    try { child = f.contentWindow && f.contentWindow.document ? f.contentWindow : null; } catch (_) { child = null; }
    if (child && child.document.readyState !== 'loading') walk(child, framePath.concat([win.__marcSelector(f)]));
  }
}
// A popup opened from a page starts with a copy of that page's session
// storage: events waiting there are the opener's (already taken from the
// opener), not this window's. The recorder names the window it polls.
const OWNER = '__marc_window';
if (store.getItem(OWNER) !== arguments[0]) {
  if (store.getItem(OWNER) !== null) store.removeItem(KEY);
  store.setItem(OWNER, arguments[0]);
}
walk(top, []);
const events = JSON.parse(store.getItem(KEY) || '[]');
store.removeItem(KEY);
return { url: top.location.href, events };
