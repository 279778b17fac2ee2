// pg_test_server_shared.cpp: the storage tests' shared PostgreSQL test server, compiled
// into this suite too (one source, one server for both suites; the glob is per folder).
#include "../../unit/storage/pg_test_server.cpp"
