//! State machine: to be written.
