// shards_command.hpp: `warmup shards` and `warmup advise`, the commands that only a running
// node can answer (its shard actors and live metrics); both read its console API.
#pragma once

#include <iosfwd>

namespace warmup::app {

class api_client;

// The shard table: shard, state, epoch, mailboxes by state, queue depth, queued writes,
// restarts (--json: the API's answer as it is).
int shards(const api_client& node, bool json, std::ostream& out);

// Reads /api/v1/node, /api/v1/status and /metrics and prints advise()'s recommendation
// with its explanation (--json: recommendation, explanation and the figures).
int advise(const api_client& node, bool json, std::ostream& out);

}  // namespace warmup::app
