// The header self-sufficiency test passes by compiling; running it only proves it linked.
int main() { return 0; }
