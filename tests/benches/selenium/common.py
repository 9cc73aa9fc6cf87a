"""What the plain Selenium robots in this folder share: a Chromium started
the way marc starts it, a WebDriver command counter, downloads through the
browser session, PDF to text, and the command line and JSON report."""

import argparse
import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"

# The flags marc starts Chromium with (drivers/webdriver/src/browser.rs).
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-popup-blocking",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=da-DK",
    "--window-size=1280,900",
]

# Fetches a URL with the page's cookies and hands back the bytes as base64.
FETCH_JS = """
const [url, done] = arguments;
fetch(url, { credentials: 'same-origin' })
  .then(async r => {
    const bytes = new Uint8Array(await r.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    done({ status: r.status, b64: btoa(s), mime: (r.headers.get('content-type') || '').split(';')[0] });
  })
  .catch(e => done({ status: 0, error: String(e) }));
"""


class CountingChrome(webdriver.Chrome):
    """webdriver.Chrome that counts the WebDriver commands it sends."""

    def __init__(self, *args, **kwargs):
        self.commands = 0
        super().__init__(*args, **kwargs)

    def execute(self, driver_command, params=None):
        self.commands += 1
        return super().execute(driver_command, params)


def parse_args(description, user_env, password_env):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--base-url", required=True, help="the case system, e.g. http://127.0.0.1:18401")
    p.add_argument("--cpr", required=True, help="the citizen's CPR number, DDMMYY-SSSS")
    p.add_argument("--user", default=os.environ.get(user_env), help=f"default: ${user_env}")
    p.add_argument("--password", default=os.environ.get(password_env), help=f"default: ${password_env}")
    p.add_argument("--from", dest="date_from", type=datetime.date.fromisoformat,
                   default=datetime.date.min, help="first day, YYYY-MM-DD (default: everything)")
    p.add_argument("--to", dest="date_to", type=datetime.date.fromisoformat,
                   default=datetime.date.today(), help="last day, YYYY-MM-DD (default: today)")
    p.add_argument("--documents", help="also write every document in full here (JSON Lines)")
    args = p.parse_args()
    if not args.user or not args.password:
        p.error(f"give --user and --password (or {user_env} and {password_env})")
    args.base_url = args.base_url.rstrip("/")
    return args


@contextmanager
def chromium():
    """A Chromium session with a fresh profile, gone again afterwards."""
    with tempfile.TemporaryDirectory(prefix="selenium-chromium-") as profile:
        options = Options()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        driver = CountingChrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def download(driver, url):
    """(status, bytes, mime) of a URL fetched inside the browser session."""
    result = driver.execute_async_script(FETCH_JS, url)
    if "error" in result:
        raise RuntimeError(f"download of {url} failed: {result['error']}")
    return result["status"], base64.b64decode(result["b64"]), result["mime"]


def attachment_text(data, mime):
    if mime == "application/pdf" or data.startswith(b"%PDF"):
        result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                                capture_output=True, check=True)
        return result.stdout.decode("utf-8")
    return data.decode("utf-8", errors="replace")


def run(extract, description, user_env, password_env):
    """Parses the command line, runs `extract(driver, args)` (which returns
    the documents, login to last document) in a fresh browser and prints
    the report."""
    args = parse_args(description, user_env, password_env)
    session_start = time.monotonic()
    with chromium() as driver:
        start = time.monotonic()
        documents = extract(driver, args)
        seconds = time.monotonic() - start
    session_seconds = time.monotonic() - session_start

    if args.documents:
        with open(args.documents, "w", encoding="utf-8") as f:
            for doc in documents:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    json.dump({
        "documents": [{k: d[k] for k in ("case_id", "doc_id", "title", "date")} for d in documents],
        "count": len(documents),
        "seconds": round(seconds, 3),
        "session_seconds": round(session_seconds, 3),
        "webdriver_commands": driver.commands,
    }, sys.stdout, ensure_ascii=False, indent=2)
    print()
