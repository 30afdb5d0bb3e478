//! Filecoin wire types, byte- and JSON-compatible with Lotus and venus
