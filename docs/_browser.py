"""Headless Chromium for the site's viewer screenshots (docs/_ext.py) and the viewer's browser
test (tests/test_view.py): one place, needing neither Sphinx nor pytest."""
import os
import shutil


def browser():
    """Headless Chromium through selenium, or None when either is missing (also the browser of
    tests/test_view.py). The browser runs without the sanitizers' LD_PRELOAD."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or \
        shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if chrome is None or driver is None:
        return None
    opts = Options()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,2400"):
        opts.add_argument(a)
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return webdriver.Chrome(service=Service(driver, env=env), options=opts)
