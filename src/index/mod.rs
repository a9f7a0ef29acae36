//! Secondary indexes: string dictionaries (with the username substring
//! search) and sorted views.

pub(crate) mod dict;
pub(crate) mod slots;
pub(crate) mod view;
