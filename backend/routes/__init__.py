"""HTTP routes: translate requests into commands and queries; no business rules here."""
