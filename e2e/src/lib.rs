//! Cross-process and real-cluster end-to-end tests
