"""dondoc's tests; `tests.support` holds what several test folders share."""
