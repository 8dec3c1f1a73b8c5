// The connection-pooling demo program: see connection_pooling.cpp.
#include "connection_pooling.hpp"

int main() { return connection_pooling_demo(); }
