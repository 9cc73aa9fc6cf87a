// marc record: runs in the page on every poll (a WebDriver execute_script).
// The first run on a page installs listeners; every run returns the events
// recorded since the last one. Events wait in sessionStorage, so those made
// just before the page is left (a click on a link, a form submit) survive
// the navigation. Password values are never read.
const KEY = '__marc_recorded';
if (!window.__marcRecorder) {
  window.__marcRecorder = true;
  const push = (e) => {
    e.url = location.href;
    const list = JSON.parse(sessionStorage.getItem(KEY) || '[]');
    list.push(e);
    sessionStorage.setItem(KEY, JSON.stringify(list));
  };
  const unique = (sel) => {
    try { return document.querySelectorAll(sel).length === 1; } catch (_) { return false; }
  };
  const xq = (s) => (s.includes("'") ? (s.includes('"') ? null : '"' + s + '"') : "'" + s + "'");
  const xunique = (xp) => document.evaluate('count(' + xp + ')', document, null, XPathResult.NUMBER_TYPE, null).numberValue === 1;
  const cssPath = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e !== document.documentElement; e = e.parentElement) {
      if (e.id && unique('#' + CSS.escape(e.id))) { parts.unshift('#' + CSS.escape(e.id)); break; }
      const tag = e.tagName.toLowerCase();
      const same = e.parentElement ? Array.from(e.parentElement.children).filter((c) => c.tagName === e.tagName) : [];
      parts.unshift(same.length > 1 ? tag + ':nth-of-type(' + (same.indexOf(e) + 1) + ')' : tag);
    }
    return parts.join(' > ');
  };
  // The selector ladder: id, name, label, text, then a CSS path.
  const selector = (el) => {
    const tag = el.tagName.toLowerCase();
    if (el.id && unique('#' + CSS.escape(el.id))) return '#' + CSS.escape(el.id);
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
      if (tag === 'a' && Array.from(document.querySelectorAll('a')).filter((a) => a.innerText.trim() === text).length === 1) {
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
  document.addEventListener('input', (ev) => { if (typable(ev.target)) pending.set(ev.target, true); }, true);
  document.addEventListener('change', (ev) => {
    const el = ev.target;
    if (!typable(el) || el.type === 'checkbox' || el.type === 'radio') return;
    pending.set(el, true);
    flush(el);
  }, true);
  document.addEventListener('click', (ev) => {
    flushAll();
    const el = ev.target.closest('a, button, input, select, textarea, label, [onclick], [role=button], td, li') || ev.target;
    if (typable(el) && el.type !== 'submit' && el.type !== 'checkbox' && el.type !== 'radio' && el.type !== 'button') return;
    push(describe(el, 'click', {}));
  }, true);
  document.addEventListener('submit', (ev) => {
    flushAll();
    // A form sent with Enter: replayed as a click on its submit button.
    const list = JSON.parse(sessionStorage.getItem(KEY) || '[]');
    const last = list[list.length - 1];
    const button = ev.target.querySelector('button[type=submit], input[type=submit], button:not([type])');
    if (button && !(last && last.kind === 'click' && last.url === location.href && last.selector === selector(button))) {
      push(describe(button, 'click', {}));
    }
  }, true);
  window.addEventListener('pagehide', flushAll, true);
}
const events = JSON.parse(sessionStorage.getItem(KEY) || '[]');
sessionStorage.removeItem(KEY);
return { url: location.href, events };
