//! tandem-domain.
