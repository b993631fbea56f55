//! tandem-test-support.
