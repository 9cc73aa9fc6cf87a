//! marc-webdriver
