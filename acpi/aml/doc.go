// Package aml encodes the few ACPI Machine Language constructs ember's
// DSDT needs (ACPI 6.5 chapter 20, "ACPI Machine Language Specification",
// and §6.4 for resource descriptors): names, integers, strings, EISA IDs,
// packages, buffers, scopes, devices, small methods (If, LEqual, Notify,
// Return) and resource templates. It builds bytes only; acpi puts them in
// a table. Names and IDs are the VMM's constants, so malformed ones panic.
package aml
