//! JOSE: to be written.
