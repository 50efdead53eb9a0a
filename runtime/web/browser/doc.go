// Package browser tests the dashboards (runtime/web) in a real headless
// Chromium driven over the DevTools protocol (chromedp): the real `lead`
// binary serves a real Badger directory on 127.0.0.1, leads are seeded
// through the API, and the tests read the pages as a user would and
// compare what they show with the API's answers. It also holds the
// first-paint benchmark.
//
// The tests skip when no Chromium is found (LEAD_CHROMIUM names one),
// unless LEAD_BROWSER_TESTS=require, as CI sets. Screenshots of every
// view go to $LEAD_TEST_ARTIFACTS, or to .artifacts/browser/ at the
// repository's root.
package browser
