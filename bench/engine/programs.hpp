// The subcommands of hms_engine_bench. Each runs one side of one benchmark
// and returns the process exit status (results on stdout, see common.hpp).
#pragma once

#include "common.hpp"

namespace bench {

// Raw-socket floors (raw.cpp): blocking sockets, no engine.
int raw_recv(const Options& o);
int raw_send(const Options& o);
int raw_rpc_server(const Options& o);
int raw_rpc_client(const Options& o);

// The engine (hms.cpp): a Reactor and a Peer, as an application uses them.
int hms_recv(const Options& o);
int hms_send(const Options& o);
int hms_rpc_server(const Options& o);
int hms_rpc_client(const Options& o);

}  // namespace bench
