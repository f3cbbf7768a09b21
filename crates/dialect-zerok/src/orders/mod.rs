//! 00K's orders: the listing with its filters and pages, one order, and the updates
//! a store's system makes (status, tracking codes, invoice, and the ERP mark, an
//! extension of the document).

pub mod filter;
pub mod input;
pub mod origin;
pub mod output;
