#!/usr/bin/env bash
# The whole test suite: unit tests, the storage contract and HTTP suites on SQLite *and*
# PostgreSQL, and the browser tests in headless Chromium.
#
# It makes sure what the tests need is there first: PostgreSQL at 127.0.0.1:5432 (started
# if it is installed but down), Debian's chromium + chromium-driver, and the document
# tools poppler-utils and tesseract-ocr(-eng), and Dovecot for the mailbox tests (installed
# when running as root).
# TANDEM_TEST_BACKENDS=sqlite runs the storage tests on SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."

need_postgres=1
case "${TANDEM_TEST_BACKENDS:-sqlite,postgres}" in *postgres*) ;; *) need_postgres=0 ;; esac
if [ "$need_postgres" = 1 ] && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  else
    echo "PostgreSQL is not answering at 127.0.0.1:5432; start it or set TANDEM_TEST_BACKENDS=sqlite" >&2
    exit 1
  fi
fi

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium and chromium-driver for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "the browser tests need Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi
fi

# Documents (issue 16) are read by Debian's poppler-utils (pdfinfo, pdftotext, pdftoppm)
# and Tesseract; the tests make their scans and encrypted PDFs with Ghostscript.
missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || missing+=(tesseract-ocr-eng)
# The mailbox source's tests start a real IMAP server (Dovecot) of their own.
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} for the document tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "the document tests need Debian's ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# --no-fail-fast: one failing test binary does not hide the others' results.
exec cargo test --workspace --locked --no-fail-fast "$@"
