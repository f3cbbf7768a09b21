//! E-mail addresses as every dialect accepts them: a loose check (an `@`, at most 254
//! characters, RFC 5321's limit), since vendors send addresses we must not refuse for
//! being unusual, only for not being addresses at all.

use crate::FieldError;

/// Checks `email` for the field named `field`.
pub fn check_email(field: &str, email: &str) -> Result<(), FieldError> {
    if !email.contains('@') || email.len() > 254 {
        return Err(FieldError::new(
            field,
            format!("'{email}' is not an e-mail address"),
        ));
    }
    Ok(())
}
