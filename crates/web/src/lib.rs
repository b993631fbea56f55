//! tandem-web.
