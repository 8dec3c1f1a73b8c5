// The connection-pooling demo as a function, so the example program and `roundtrip --demo` run the
// same code.
#pragma once

/// Runs the demo, printing to stdout; returns 0 when every request got a response.
int connection_pooling_demo();
