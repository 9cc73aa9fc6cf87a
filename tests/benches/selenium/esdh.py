#!/usr/bin/env python3
"""A plain Python Selenium robot for the ESDH testbed system.

It does the job of marc's ESDH robot (scripts/esdh.rhai): log in, open the
citizen's case list, read every case and every document in the period
(title, date, kind, department, text), download each attachment through the
browser session and turn PDFs into text with pdftotext. It is one side of
the benchmark in tests/benches/selenium.rs.

    /usr/bin/python3 esdh.py --base-url http://127.0.0.1:18401 --cpr 151194-4532
        [--user U --password P]  (default: $ESDH_USER, $ESDH_PASSWORD)
        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--documents FILE.jsonl]

Prints one JSON object: documents (case_id, doc_id, title, date), count,
seconds (login to last document), session_seconds (browser start to browser
gone), webdriver_commands. Needs python3-selenium, chromium,
chromium-driver and poppler-utils.
"""

import datetime
from urllib.parse import quote

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from common import attachment_text, download, run


def wait_for(driver, css):
    WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def login(driver, base_url, user, password):
    driver.get(f"{base_url}/login")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait_for(driver, "#search")


def read_cases(driver, base_url, cpr):
    driver.get(f"{base_url}/cases?cpr={quote(cpr)}")
    wait_for(driver, "#cases")
    cases = []
    for row in driver.find_elements(By.CSS_SELECTOR, "#cases tbody tr"):
        link = row.find_element(By.CSS_SELECTOR, "td.case-id a")
        cases.append({
            "case_id": link.text,
            "url": link.get_attribute("href"),
            "department": row.find_element(By.CSS_SELECTOR, "td.department").text,
        })
    return cases


def document_links(driver, case_url, date_from, date_to):
    """The URLs of the case's documents dated inside the period."""
    driver.get(case_url)
    wait_for(driver, "#documents")
    urls = []
    for row in driver.find_elements(By.CSS_SELECTOR, "#documents tbody tr"):
        date = datetime.date.fromisoformat(row.find_element(By.CSS_SELECTOR, "td.date").text)
        if date_from <= date <= date_to:
            urls.append(row.find_element(By.CSS_SELECTOR, "td.title a").get_attribute("href"))
    return urls


def read_document(driver, url):
    driver.get(url)
    wait_for(driver, "#document .body")
    article = driver.find_element(By.ID, "document")
    doc = {
        "doc_id": article.get_attribute("data-doc-id"),
        "title": article.find_element(By.CSS_SELECTOR, ".title").text,
        "date": article.find_element(By.CSS_SELECTOR, ".date").text,
        "kind": article.find_element(By.CSS_SELECTOR, ".kind").text,
        "text": "\n\n".join(p.text for p in article.find_elements(By.CSS_SELECTOR, ".body p")),
        "attachments": [],
    }
    links = [(a.get_attribute("data-name") or a.text, a.get_attribute("href"))
             for a in article.find_elements(By.CSS_SELECTOR, "a.attachment")]
    for name, href in links:
        status, data, mime = download(driver, href)
        if status != 200:
            raise RuntimeError(f"attachment {href}: HTTP {status}")
        doc["attachments"].append({"name": name, "mime": mime, "text": attachment_text(data, mime)})
    return doc


def extract(driver, args):
    login(driver, args.base_url, args.user, args.password)
    documents = []
    for case in read_cases(driver, args.base_url, args.cpr):
        for url in document_links(driver, case["url"], args.date_from, args.date_to):
            doc = read_document(driver, url)
            doc["case_id"] = case["case_id"]
            doc["department"] = case["department"]
            documents.append(doc)
    return documents


if __name__ == "__main__":
    run(extract, "A plain Selenium robot for the ESDH testbed system.", "ESDH_USER", "ESDH_PASSWORD")
