"""Personal data and retention: the right of access, erasure, retention and its daily job."""
