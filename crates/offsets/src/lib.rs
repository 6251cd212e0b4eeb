//! Offset translation and consumer-group sync.
