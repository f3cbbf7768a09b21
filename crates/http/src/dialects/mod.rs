//! Vendor dialects: each serves one vendor's API, faithfully, over the domain.
//!
//! A dialect module owns its auth extractor (reading that vendor's headers), its error
//! envelope, its DTOs and routes. Vendor words stay inside their module.

pub mod koncili;
pub mod omnik;
pub mod skyhub;
pub mod zerok;
