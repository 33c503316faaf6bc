//! The AWS adapters and handlers against the moto emulator.
