//! tandem-service.
