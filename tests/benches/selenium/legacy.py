#!/usr/bin/env python3
"""A plain Python Selenium robot for the legacy testbed system.

It does the job of marc's legacy robot (scripts/legacy.rhai and
scripts/lib/legacy.rhai): log in through the frameset, search the CPR
number (the case list is drawn late by JavaScript), page through every case
(five documents a page), read every document in the period (opening the
popup's URL in the same window, as marc does), download each attachment
through the browser session and turn PDFs into text with pdftotext. The
system's traps are handled the way marc's script handles them: a session
that expires (the login page comes back instead of the page) means log in
again and go back; a transient 503 means try again.

    /usr/bin/python3 legacy.py --base-url http://127.0.0.1:18402 --cpr 151194-4532
        [--user U --password P]  (default: $LEGACY_USER, $LEGACY_PASSWORD)
        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--documents FILE.jsonl]

Prints the same JSON object as esdh.py.
"""

import datetime
import re
import time
from urllib.parse import parse_qs, quote, urlparse

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from common import attachment_text, download, run

UNAVAILABLE = "Service midlertidigt utilgængelig"


def iso_date(danish):
    """'26.10.2020' -> '2020-10-26'."""
    return datetime.datetime.strptime(danish.strip(), "%d.%m.%Y").date().isoformat()


class LegacyRobot:
    def __init__(self, driver, args):
        self.driver = driver
        self.args = args
        self.base_url = args.base_url

    def login(self):
        d = self.driver
        d.get(f"{self.base_url}/")
        d.switch_to.frame("main")
        WebDriverWait(d, 10).until(EC.presence_of_element_located((By.ID, "user")))
        d.find_element(By.ID, "user").send_keys(self.args.user)
        d.find_element(By.ID, "pass").send_keys(self.args.password)
        d.find_element(By.ID, "loginbtn").click()
        WebDriverWait(d, 10).until(EC.presence_of_element_located((By.ID, "cprnr")))
        d.switch_to.default_content()

    def page_state(self, ready):
        """What the window shows: the page we wait for, the login page
        (session expired), an error (503 or the case list's "Fejl"), or
        nothing yet (None)."""
        def check(d):
            if d.find_elements(By.CSS_SELECTOR, ready):
                return "ready"
            if d.find_elements(By.ID, "user"):
                return "login"
            if d.find_elements(By.CSS_SELECTOR, ".fejl") or UNAVAILABLE in d.page_source:
                return "error"
            return None
        return check

    def wait_page(self, ready, timeout=4):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(self.page_state(ready))
        except TimeoutException:
            return "timeout"

    def open_page(self, url, ready):
        """Opens a page until `ready` shows, logging in again or retrying."""
        for attempt in range(8):
            self.driver.get(url)
            state = self.wait_page(ready)
            if state == "ready":
                return
            if state == "login":
                self.login()
            else:
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{url} never showed {ready}")

    def search(self):
        """The citizen's cases: [{case_id, department}]."""
        d = self.driver
        self.open_page(f"{self.base_url}/find", "#cprnr")
        d.find_element(By.ID, "cprnr").send_keys(self.args.cpr)
        d.find_element(By.ID, "searchbtn").click()
        if self.wait_page("#caselist-table", timeout=8) != "ready":
            self.open_page(f"{self.base_url}/list?cpr={quote(self.args.cpr)}", "#caselist-table")
        return [
            {
                "case_id": row.find_element(By.CSS_SELECTOR, "td.sagsnr").text,
                "department": row.find_element(By.CSS_SELECTOR, "td.afdeling").text,
            }
            for row in d.find_elements(By.CSS_SELECTOR, "#caselist-table tr.case")
        ]

    def document_links(self, case_id):
        """URLs of the case's documents in the period, over all pages."""
        d = self.driver
        urls = []
        page = 1
        while True:
            self.open_page(f"{self.base_url}/case?id={quote(case_id)}&page={page}", "table.doclist")
            for row in d.find_elements(By.CSS_SELECTOR, "table.doclist tr.doc"):
                date = datetime.date.fromisoformat(
                    iso_date(row.find_element(By.CSS_SELECTOR, "td.dok-dato").text))
                if not self.args.date_from <= date <= self.args.date_to:
                    continue
                onclick = row.find_element(By.CSS_SELECTOR, "td.dok-titel a").get_attribute("onclick")
                urls.append(self.base_url + re.search(r"window\.open\('([^']+)'", onclick).group(1))
            if not d.find_elements(By.ID, "next"):
                return urls
            page += 1

    def fetch_attachment(self, url):
        for attempt in range(6):
            status, data, mime = download(self.driver, url)
            if status == 200 and mime == "application/pdf":
                return data, mime
            if mime == "text/html":  # the login page: the session expired
                self.login()
            else:
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"the attachment {url} could not be fetched")

    def read_document(self, url):
        d = self.driver
        self.open_page(url, "#dokument #tekst")

        def field(name):
            return d.find_element(By.CSS_SELECTOR, f'[data-felt="{name}"]').text

        doc = {
            "doc_id": parse_qs(urlparse(url).query)["id"][0],
            "title": field("titel"),
            "date": iso_date(field("dato")),
            "kind": field("type"),
            "text": d.find_element(By.ID, "tekst").text,
            "attachments": [],
        }
        links = [(a.text.strip(), a.get_attribute("href"))
                 for a in d.find_elements(By.CSS_SELECTOR, "a.bilag")]
        for name, href in links:
            data, mime = self.fetch_attachment(href)
            doc["attachments"].append({"name": name, "mime": mime, "text": attachment_text(data, mime)})
        return doc

    def extract(self):
        self.login()
        documents = []
        for case in self.search():
            for url in self.document_links(case["case_id"]):
                doc = self.read_document(url)
                doc["case_id"] = case["case_id"]
                doc["department"] = case["department"]
                documents.append(doc)
        return documents


if __name__ == "__main__":
    run(lambda driver, args: LegacyRobot(driver, args).extract(),
        "A plain Selenium robot for the legacy testbed system.", "LEGACY_USER", "LEGACY_PASSWORD")
